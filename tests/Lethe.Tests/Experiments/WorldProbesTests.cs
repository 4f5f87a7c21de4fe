// Probe sets of the demo world: the probe split of each skill, in the evaluation's prompt format,
// disjoint from the test split; the retain side is every other skill.
using Lethe.Evaluation;
using Lethe.Experiments;
using Lethe.Tests.Data;
using Lethe.Unlearning;
using Xunit;

namespace Lethe.Tests.Experiments;

[Collection("small world")]
public class WorldProbesTests(SmallWorld world)
{
    [Fact]
    public void MathProbesAreQueriesInTheEvaluationFormatOrWholeWorkedAnswers()
    {
        var prompts = WorldProbes.Read(world.Folder, "math", ProbeTextPart.Prompt, limit: 20);
        var full = WorldProbes.Read(world.Folder, "math", ProbeTextPart.Full, limit: 20);
        Assert.Equal(20, prompts.Texts.Count);
        Assert.All(prompts.Texts, t => { Assert.StartsWith("Question: ", t); Assert.EndsWith("\nAnswer:", t); });
        for (int i = 0; i < 20; i++)
        {
            Assert.StartsWith(prompts.Texts[i] + " ", full.Texts[i]);
            Assert.Matches(@"#### -?\d+$", full.Texts[i]);
        }
        Assert.EndsWith(Path.Combine("math", "probe.jsonl"), prompts.Path);
        Assert.Equal(64, prompts.Sha256.Length);
    }

    [Fact]
    public void ProbeQueriesNeverAppearAmongTheTestQueries()
    {
        foreach (var skill in WorldProbes.Skills.Where(s => s != "concept_qa"))
        {
            var probe = WorldProbes.Read(world.Folder, skill, ProbeTextPart.Prompt).Texts.ToHashSet();
            string test = EvalSuite.DemoLayout.Single(t => t.Name == skill).RelativePath;
            var testPrompts = EvalSuite.CreateTask(skill, Path.Combine(world.Folder, test), new TaskSettings(), new Lazy<Lethe.Evaluation.Code.PythonRunner>(() => null!))
                .Examples().Select(e => e.Prompt);
            Assert.DoesNotContain(testPrompts, probe.Contains);
        }
    }

    [Fact]
    public void TheRetainSideIsEveryOtherSkill()
    {
        var retain = WorldProbes.RetainSet(world.Folder, "code", ProbeTextPart.Prompt, limit: 20);
        Assert.Equal(WorldProbes.Skills.Count - 1, retain.Count);
        Assert.DoesNotContain(retain, f => f.Path.EndsWith(Path.Combine("code", "probe.jsonl")));
        Assert.Contains(retain, f => f.Path.EndsWith(Path.Combine("comprehension", "hi", "probe.jsonl")));
        Assert.All(retain, f => Assert.Equal(20, f.Texts.Count));
        // The validation split lies beside each probe split, and a set of fewer than 20 items is refused by name.
        var validation = WorldProbes.RetainSet(world.Folder, "code", ProbeTextPart.Prompt, split: ProbeSplit.Validation);
        Assert.Contains(validation, f => f.Path.EndsWith(Path.Combine("math", "validation.jsonl")));
        Assert.DoesNotContain(validation, f => f.Skill == "concept_qa");
        var e = Assert.Throws<LetheException>(() => WorldProbes.Read(world.Folder, "math", ProbeTextPart.Prompt, limit: 19));
        Assert.Contains("'math' has 19 items, fewer than 20", e.Message);
    }

    [Fact]
    public void UnknownSkillsAndMissingFilesAreClearErrors()
    {
        Assert.Contains("no probe set for 'perplexity'", Assert.Throws<LetheException>(() => WorldProbes.RelativePath("perplexity")).Message);
        Assert.Contains("is missing", Assert.Throws<LetheException>(() => WorldProbes.Read(Path.GetTempPath(), "math", ProbeTextPart.Full)).Message);
    }
}
