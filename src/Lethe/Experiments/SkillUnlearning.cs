// The training-free skill-unlearning experiment of [S1] on a world folder: evaluate every skill of
// the demo suite, fit a method to forget one skill (probe sets from WorldProbes: the forgotten
// skill's probes against every other skill's), evaluate again under the adapter, and compare.
// `lethe demo` runs it once (KSD and Neuron Adjust, forget math); `lethe repro skill-unlearning`
// runs the paper's grid (forget math, code and each language; NA at three p, Selective Pruning,
// KSD). Relative performance is after / before for every task, perplexity included (there a
// value above 1 means worse).
using System.Globalization;
using Lethe.Evaluation;
using Lethe.Evaluation.Code;
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tokenizers;
using Lethe.Unlearning;

namespace Lethe.Experiments;

/// <summary>One method and its setting, as run by the experiment. Key names it in results files.</summary>
public sealed record MethodSpec(string Key, string Method, double Percent = 0)
{
    /// <summary>Neuron Adjust: one draw per element (Lethe) or per sequence, layer and pass ([S1]'s code).</summary>
    public NeuronAdjustDraw Draw { get; init; } = NeuronAdjustDraw.PerElement;
    /// <summary>Neuron Adjust: the seed of its draws (null: the experiment's seed).</summary>
    public ulong? Seed { get; init; }

    public static MethodSpec Ksd { get; } = new("ksd", AdapterMethods.KeySpaceDetection);
    public static MethodSpec NeuronAdjust(double percent, string? key = null) => new(key ?? $"na-{Format(percent)}", AdapterMethods.NeuronAdjust, percent);
    public static MethodSpec Pruning(double percent, string? key = null) => new(key ?? $"prune-{Format(percent)}", AdapterMethods.SelectivePruning, percent);

    public string Label => Method switch
    {
        AdapterMethods.KeySpaceDetection => "KSD",
        AdapterMethods.NeuronAdjust => $"NA {Format(Percent)} %",
        _ => $"SP {Format(Percent)} %",
    };

    private static string Format(double p) => p.ToString("0.###", CultureInfo.InvariantCulture);
}

public sealed class SkillUnlearning
{
    private readonly Lazy<PythonRunner> runner;
    private List<EvalTask>? tasks;

    public SkillUnlearning(TransformerModel model, Tokenizer tokenizer, string modelName, string worldDir)
    {
        Model = model; Tokenizer = tokenizer; ModelName = modelName; WorldDir = worldDir;
        runner = new Lazy<PythonRunner>(() => new PythonRunner(Python));
    }

    public TransformerModel Model { get; }
    public Tokenizer Tokenizer { get; }
    public string ModelName { get; }
    public string WorldDir { get; }
    /// <summary>Items per test task (null: the whole test split).</summary>
    public int? TestLimit { get; init; }
    /// <summary>Items per probe set (null: the whole probe split).</summary>
    public int? ProbeLimit { get; init; }
    public int BatchSize { get; init; } = 8;
    public ulong Seed { get; init; }
    /// <summary>KSD: fraction of each probe set held out to measure coverage and false positives honestly.</summary>
    public double KsdHoldout { get; init; } = 0.2;
    public double KsdTargetFalsePositiveRate { get; init; } = 0.01;
    public PythonRunOptions Python { get; init; } = new();
    /// <summary>Evaluate only these tasks of the demo suite (null: all).</summary>
    public IReadOnlyList<string>? TaskNames { get; init; }

    /// <summary>The demo suite's tasks found in the world folder, built once.</summary>
    public IReadOnlyList<EvalTask> Tasks => tasks ??= EvalSuite.DemoTasks(WorldDir)
        .Where(t => TaskNames is null || TaskNames.Contains(t.Name))
        .Select(t => EvalSuite.CreateTask(t.Name, t.Path, new TaskSettings { Limit = TestLimit, Python = Python }, runner)).ToList();

    /// <summary>Every task, under an intervention or none. progress(task) as for EvalSuite.Run.</summary>
    public List<TaskResult> Evaluate(InferenceIntervention? intervention, Func<EvalTask, (Action<int> advance, IDisposable done)>? progress = null, CancellationToken cancel = default)
    {
        var model = new EvalModel(Model, Tokenizer, ModelName) { BatchSize = BatchSize, Intervention = intervention };
        return EvalSuite.Run(model, Tasks, progress, cancel);
    }

    /// <summary>KSD: sweep single layers and pairs on the validation split and use the best (false: the last layer, as [S1]).</summary>
    public bool KsdSweepLayers { get; init; } = true;
    /// <summary>KSD: also calibrate on the model's own greedy answers to the probes (the tokens the detector will check).</summary>
    public bool KsdOwnAnswers { get; init; } = true;

    private readonly Dictionary<(string, ProbeSplit), IReadOnlyList<string>?> ownAnswers = new();

    /// <summary>
    /// The model's greedy answers to a skill's probe (or validation) queries, generated as its
    /// evaluation task generates (same token limit and stop strings); null for skills that are
    /// scored without generating (multiple choice). Cached: they do not depend on the forget skill.
    /// </summary>
    public IReadOnlyList<string>? OwnAnswers(string skill, ProbeSplit split, CancellationToken cancel = default)
    {
        if (ownAnswers.TryGetValue((skill, split), out var cached)) return cached;
        var file = WorldProbes.Read(WorldDir, skill, ProbeTextPart.Prompt, ProbeLimit, split);
        var task = EvalSuite.CreateTask(skill, file.Path, new TaskSettings { Limit = ProbeLimit }, new Lazy<PythonRunner>(() => null!));
        (int, IReadOnlyList<string>)? how = task switch
        {
            Evaluation.Tasks.MathTask t => (t.MaxNewTokens, t.Stops),
            Evaluation.Tasks.CodeTask t => (t.MaxNewTokens, t.Stops),
            Evaluation.Tasks.ComprehensionTask t => (t.MaxNewTokens, t.Stops),
            Evaluation.Tasks.ConceptQaTask t => (t.MaxNewTokens, t.Stops),
            _ => null,
        };
        IReadOnlyList<string>? answers = null;
        if (how is var (maxNew, stops))
            answers = new EvalModel(Model, Tokenizer, ModelName) { BatchSize = BatchSize }.Generate(file.Texts, maxNew, stops, null, cancel).Select(c => c.Text).ToList();
        return ownAnswers[(skill, split)] = answers;
    }

    private ProbeFile KsdProbes(string skill, ProbeSplit split, CancellationToken cancel)
    {
        var file = WorldProbes.Read(WorldDir, skill, ProbeTextPart.Prompt, ProbeLimit, split);
        return KsdOwnAnswers ? file with { ModelAnswers = OwnAnswers(skill, split, cancel) } : file;
    }

    /// <summary>
    /// Fits a method to forget one skill. KSD fits on prompts (the queries it must catch) with a
    /// held-out fraction for honest coverage figures, calibrated per retain skill on the query's
    /// last token and every answer token (gold and the model's own), on the layers the validation
    /// split chose (KsdSweepLayers; the sweep goes into the fit report); NA and SP on prompts with
    /// their gold answers (the skill being exercised), every token.
    /// </summary>
    public UnlearningAdapter Fit(MethodSpec method, string forgetSkill, IFitProgress? progress = null, CancellationToken cancel = default)
    {
        var part = method.Method == AdapterMethods.KeySpaceDetection ? ProbeTextPart.Prompt : ProbeTextPart.Full;
        if (method.Method == AdapterMethods.KeySpaceDetection) return FitKsd(forgetSkill, progress, cancel);
        var forget = new[] { WorldProbes.Read(WorldDir, forgetSkill, part, ProbeLimit) };
        var retain = WorldProbes.RetainSet(WorldDir, forgetSkill, part, ProbeLimit);
        return method.Method switch
        {
            AdapterMethods.NeuronAdjust => AdapterFitter.FitNeuronAdjust(Model, Tokenizer, forget, retain, new NeuronAdjustOptions
            {
                BatchSize = BatchSize, Part = part, Percent = method.Percent, Seed = method.Seed ?? Seed, Draw = method.Draw,
            }, progress, cancel),
            AdapterMethods.SelectivePruning => AdapterFitter.FitSelectivePruning(Model, Tokenizer, forget, retain, new SelectivePruningOptions
            {
                BatchSize = BatchSize, Part = part, Percent = method.Percent,
            }, progress, cancel),
            _ => throw new LetheException($"unknown unlearning method '{method.Method}'"),
        };
    }

    private UnlearningAdapter FitKsd(string forgetSkill, IFitProgress? progress, CancellationToken cancel)
    {
        var others = WorldProbes.Skills.Where(s => s != forgetSkill).ToList();
        var forget = KsdProbes(forgetSkill, ProbeSplit.Probe, cancel);
        var retain = others.Select(s => KsdProbes(s, ProbeSplit.Probe, cancel)).ToList();
        var options = new KeySpaceDetectionOptions
        {
            BatchSize = BatchSize, Part = ProbeTextPart.Prompt, Holdout = KsdHoldout, TargetFalsePositiveRate = KsdTargetFalsePositiveRate, Seed = Seed,
            CalibrateOnAnswers = true, // KSD also checks every generated token: calibrate on what it will check
        };
        System.Text.Json.Nodes.JsonObject? sweepReport = null;
        if (KsdSweepLayers)
        {
            var forgetValidation = KsdProbes(forgetSkill, ProbeSplit.Validation, cancel);
            var retainValidation = others.Where(s => WorldProbes.ValidationPath(s) is not null).Select(s => KsdProbes(s, ProbeSplit.Validation, cancel)).ToList();
            var (rows, best) = AdapterFitter.SweepKeySpaceLayers(Model, Tokenizer, forget, retain, forgetValidation, retainValidation, options, cancel);
            options = options with { Layers = best.Layers, Combine = best.Combine };
            sweepReport = new System.Text.Json.Nodes.JsonObject
            {
                ["decided_on"] = "validation split", ["rule"] = "max validation coverage − worst retain skill's validation FPR, α calibrated per retain skill on the probe split",
                ["chosen"] = best.ToJson(),
                ["rows"] = new System.Text.Json.Nodes.JsonArray(rows.Select(r => (System.Text.Json.Nodes.JsonNode)r.ToJson()).ToArray()),
            };
        }
        var adapter = AdapterFitter.FitKeySpaceDetection(Model, Tokenizer, new[] { forget }, retain, options, progress, cancel);
        if (sweepReport is not null) adapter.Report["layer_sweep"] = sweepReport;
        return adapter;
    }

    /// <summary>Pre-activation values of chosen neurons at every token of the forget and retain probe sets (full texts).</summary>
    public (IReadOnlyDictionary<(int Layer, int Index), List<float>> forget, IReadOnlyDictionary<(int Layer, int Index), List<float>> retain)
        TraceNeurons(string forgetSkill, IReadOnlyList<(int Layer, int Index)> neurons, CancellationToken cancel = default)
    {
        var what = new ProbeStatisticsOptions { BatchSize = BatchSize, TracedNeurons = neurons };
        IReadOnlyDictionary<(int, int), List<float>> Trace(IEnumerable<ProbeFile> files)
        {
            var encoded = ProbeSets.Encode(Tokenizer, files.SelectMany(f => f.Texts), Model.Config.MaxPositions, Model.Config.VocabSize);
            return ActivationStatistics.Collect(Model, encoded.Ids, what, null, cancel).Traces;
        }
        return (Trace(new[] { WorldProbes.Read(WorldDir, forgetSkill, ProbeTextPart.Full, ProbeLimit) }),
                Trace(WorldProbes.RetainSet(WorldDir, forgetSkill, ProbeTextPart.Full, ProbeLimit)));
    }

    /// <summary>Task name → per-item values behind the grid's score (1 right, 0 wrong; multiple choice: cloze).</summary>
    public static Dictionary<string, double[]> ItemValues(IEnumerable<TaskResult> results) => results.ToDictionary(r => r.Name, PairedBootstrap.ItemValues);

    /// <summary>Task name → headline score.</summary>
    public static Dictionary<string, double> Scores(IEnumerable<TaskResult> results) => results.ToDictionary(r => r.Name, r => r.Score);

    /// <summary>after / before per task; NaN where before is 0 or either is missing.</summary>
    public static Dictionary<string, double> Relative(IReadOnlyDictionary<string, double> before, IReadOnlyDictionary<string, double> after) =>
        before.ToDictionary(b => b.Key, b => after.TryGetValue(b.Key, out double a) && b.Value != 0 ? a / b.Value : double.NaN);
}
