// Scoring on the validation split (repro skill-unlearning --split validation): the demo suite maps
// each task's test file to its validation file beside it, leaves out the tasks that have none, and
// takes few-shot examples from the train split beside a validation file as beside a test file.
using Lethe.Evaluation;
using Lethe.Tests.Data;
using Xunit;

namespace Lethe.Tests.Evaluation;

[Collection("small world")]
public class ValidationSplitTests(SmallWorld world)
{
    [Fact]
    public void TheDemoSuiteFindsEachTasksValidationFile()
    {
        var missing = new List<string>();
        var tasks = EvalSuite.DemoTasks(world.Folder, missing.Add, validation: true).ToDictionary(t => t.Name, t => t.Path);
        Assert.Equal(Path.Combine(world.Folder, "math", "validation.jsonl"), tasks["math"]);
        Assert.Equal(Path.Combine(world.Folder, "comprehension", "de", "validation.jsonl"), tasks["comprehension.de"]);
        Assert.Equal(Path.Combine(world.Folder, "sensitive", "mc_validation.jsonl"), tasks["sensitive_mc"]);
        Assert.All(tasks.Values, p => Assert.True(File.Exists(p), p));
        Assert.All(tasks.Values, p => Assert.DoesNotContain("test", Path.GetFileName(p)));
        // Concept QA and perplexity have no validation split: left out, and said so.
        Assert.DoesNotContain("concept_qa", tasks.Keys);
        Assert.DoesNotContain("perplexity", tasks.Keys);
        Assert.Contains(missing, m => m.StartsWith("perplexity:", StringComparison.Ordinal));

        var test = EvalSuite.DemoTasks(world.Folder).ToDictionary(t => t.Name, t => t.Path);
        Assert.Equal(Path.Combine(world.Folder, "math", "test.jsonl"), test["math"]);
        Assert.NotEqual(File.ReadAllText(test["math"]), File.ReadAllText(tasks["math"]));
    }

    [Fact]
    public void ThePythonOfTheWorldsOwnValidationSplitRunsWithoutOptIn()
    {
        // repro --split validation runs code/validation.jsonl: Lethe's own generated file, like its test file.
        Assert.True(Lethe.Data.World.WorldCode.IsGenerated(Path.Combine(world.Folder, "code", "validation.jsonl")));
        Assert.True(Lethe.Data.World.WorldCode.IsGenerated(Path.Combine(world.Folder, "code", "test.jsonl")));
        string copy = Path.Combine(Path.GetTempPath(), $"lethe-world-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(Path.Combine(copy, "code"));
            File.Copy(Path.Combine(world.Folder, "manifest.json"), Path.Combine(copy, "manifest.json"));
            File.WriteAllText(Path.Combine(copy, "code", "validation.jsonl"), File.ReadAllText(Path.Combine(world.Folder, "code", "validation.jsonl")).Replace("assert", "assert  "));
            Assert.False(Lethe.Data.World.WorldCode.IsGenerated(Path.Combine(copy, "code", "validation.jsonl")));
        }
        finally { Directory.Delete(copy, true); }
    }

    [Fact]
    public void ShotsComeFromTheTrainSplitBesideAValidationFile()
    {
        Assert.Equal(Path.Combine(world.Folder, "math", "train.jsonl"), EvalSuite.TrainSplitOf(Path.Combine(world.Folder, "math", "validation.jsonl")));
        Assert.Equal(Path.Combine(world.Folder, "sensitive", "mc_train.jsonl"), EvalSuite.TrainSplitOf(Path.Combine(world.Folder, "sensitive", "mc_validation.jsonl")));
    }
}
