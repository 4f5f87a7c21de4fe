// Probe sets of the demo world's skills, for fitting unlearning methods: each skill's probe split
// (disjoint from its test split, see docs/demo-world.md), read by the evaluation task of that skill
// and written in exactly the prompt format the evaluation asks in — so that a detector fitted on
// probe queries sees the same kind of text (and the same last token) as the queries it must catch.
//   skill              probe file                        (concept QA has no probe split: its train
//   math               math/probe.jsonl                   concepts are other concepts than the
//   code               code/probe.jsonl                   test ones, so their questions serve)
//   comprehension.xx   comprehension/xx/probe.jsonl
//   general_mc         general_mc/probe.jsonl
//   sensitive_mc       sensitive/mc_probe.jsonl
//   concept_qa         concepts/train.jsonl
// ProbeTextPart.Prompt keeps the query only (for KSD); Full appends the gold completion (for the
// statistics of Neuron Adjust and Selective Pruning, which should see the skill being exercised).
// ProbeSplit.Validation reads the validation split beside each probe split (validation.jsonl,
// sensitive/mc_validation.jsonl; concept QA has none): what is tuned is decided there, never on test.
// A split with fewer than 20 items of a skill is refused (AdapterFitter.MinProbesPerSkill).
using System.Security.Cryptography;
using Lethe.Evaluation;
using Lethe.Evaluation.Code;
using Lethe.Unlearning;

namespace Lethe.Experiments;

public enum ProbeSplit { Probe, Validation }

public static class WorldProbes
{
    /// <summary>The skills that have probe sets, in the demo suite's order (perplexity is not a skill to forget).</summary>
    public static IReadOnlyList<string> Skills { get; } = EvalSuite.DemoLayout.Select(t => t.Name).Where(n => n != "perplexity").ToArray();

    public static string RelativePath(string skill) => skill switch
    {
        "math" => "math/probe.jsonl",
        "code" => "code/probe.jsonl",
        "general_mc" => "general_mc/probe.jsonl",
        "sensitive_mc" => "sensitive/mc_probe.jsonl",
        "concept_qa" => "concepts/train.jsonl",
        _ when skill.StartsWith("comprehension.", StringComparison.Ordinal) && EvalSuite.Languages.Contains(skill[14..]) => $"comprehension/{skill[14..]}/probe.jsonl",
        _ => throw new LetheException($"no probe set for '{skill}'; skills with probes: {string.Join(", ", Skills)}"),
    };

    /// <summary>Where a skill's validation split lies (null: the skill has none).</summary>
    public static string? ValidationPath(string skill) => skill == "concept_qa" ? null : RelativePath(skill).Replace("probe.jsonl", "validation.jsonl");

    /// <summary>The probe (or validation) texts of one skill: at most limit items, prompts only or prompt + gold completion.</summary>
    public static ProbeFile Read(string worldDir, string skill, ProbeTextPart part, int? limit = null, ProbeSplit split = ProbeSplit.Probe)
    {
        string relative = split == ProbeSplit.Probe ? RelativePath(skill) : ValidationPath(skill) ?? throw new LetheException($"'{skill}' has no validation split");
        string path = Path.Combine(worldDir, relative);
        if (!File.Exists(path)) throw new LetheException($"{path}: the probe set of '{skill}' is missing; is {worldDir} a world folder written by `lethe world generate`?");
        // The code task's runner is never started here: Examples() only formats prompts.
        var task = EvalSuite.CreateTask(skill, path, new TaskSettings { Limit = limit }, new Lazy<PythonRunner>(() => null!));
        var examples = task.Examples();
        var texts = examples.Select(e => part == ProbeTextPart.Prompt ? e.Prompt : e.Prompt + e.Completion).ToList();
        var answers = part == ProbeTextPart.Prompt ? examples.Select(e => e.Completion).ToList() : null;
        string sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
        var file = new ProbeFile(Path.GetFullPath(path), sha, $"{skill} ({(part == ProbeTextPart.Prompt ? "prompts" : "prompts + gold answers")} in the evaluation format)", texts, answers) { Skill = skill };
        AdapterFitter.RequireEnoughProbes(file, split == ProbeSplit.Probe ? "probe" : "validation");
        return file;
    }

    /// <summary>Probe sets of every skill but the forgotten one: the retain side.</summary>
    public static List<ProbeFile> RetainSet(string worldDir, string forgetSkill, ProbeTextPart part, int? limit = null, ProbeSplit split = ProbeSplit.Probe) =>
        Skills.Where(s => s != forgetSkill && (split == ProbeSplit.Probe || ValidationPath(s) is not null)).Select(s => Read(worldDir, s, part, limit, split)).ToList();
}
