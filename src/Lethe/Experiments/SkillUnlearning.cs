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
using Lethe.Unlearning.Statistics;
using Lethe.Unlearning.Training;

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

    public string Label => Registered.Label(Settings());

    /// <summary>The registered method this spec runs.</summary>
    public IAdapterMethod Registered => MethodRegistry.Adapter(Method);

    /// <summary>
    /// The method's settings: its defaults, then what this spec sets (p, the NA draw) and the given
    /// experiment-wide values — each only where the method declares that parameter.
    /// </summary>
    public MethodSettings Settings(IReadOnlyDictionary<string, string>? experiment = null)
    {
        var m = Registered;
        var given = new Dictionary<string, string>();
        void Set(string name, string value) { if (m.Parameters.Any(p => p.Name == name)) given[name] = value; }
        foreach (var (name, value) in experiment ?? new Dictionary<string, string>()) Set(name, value);
        if (Percent != 0) Set("p", Percent.ToString("R", CultureInfo.InvariantCulture));
        Set("na_draw", Draw == NeuronAdjustDraw.Shared ? "shared" : "per-element");
        return MethodSettings.Resolve(m, null, given);
    }

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
    /// <summary>Score on the tasks' validation splits instead of their test splits (to choose settings without test scores).</summary>
    public bool ScoreOnValidation { get; init; }

    /// <summary>The demo suite's tasks found in the world folder, built once.</summary>
    public IReadOnlyList<EvalTask> Tasks => tasks ??= EvalSuite.DemoTasks(WorldDir, validation: ScoreOnValidation)
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
    /// <summary>KSD: the key tested — last ([S1]), mean (beyond [S1]) or either (the validation sweep chooses; needs KsdSweepLayers).</summary>
    public string KsdKey { get; init; } = "last";

    private readonly Dictionary<(string, ProbeSplit), IReadOnlyList<string>?> ownAnswers = new();
    // NA at several p and seeds, and SP, share each forget skill's probe statistics (this model's only).
    private readonly ProbeStatisticsCache statistics = new();

    /// <summary>Probe statistics collected so far (the rest of the fits reused them).</summary>
    public int StatisticsCollections => statistics.Collections;

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
    /// Fits a method to forget one skill, the forgotten skill's probes against every other skill's.
    /// The experiment's settings apply to every method that declares them: KSD fits on prompts with a
    /// held-out fraction for honest coverage figures, calibrated per retain skill on the query's last
    /// token and every answer token (gold and, KsdOwnAnswers, the model's own), on the layers the
    /// validation split chose (KsdSweepLayers; the sweep goes into the fit report); NA and SP fit on
    /// prompts with their gold answers (the skill being exercised), every token.
    /// </summary>
    public UnlearningAdapter Fit(MethodSpec method, string forgetSkill, IFitProgress? progress = null, CancellationToken cancel = default)
    {
        string Num(double x) => x.ToString("R", CultureInfo.InvariantCulture);
        var settings = method.Settings(new Dictionary<string, string>
        {
            ["batch_size"] = Num(BatchSize), ["holdout"] = Num(KsdHoldout), ["target_fpr"] = Num(KsdTargetFalsePositiveRate),
            ["calibrate_on"] = "answer", // KSD also checks every generated token: calibrate on what it will check
            ["sweep_layers"] = KsdSweepLayers ? "true" : "false",
            ["key"] = KsdKey,
        });
        var fitter = method.Registered;
        var part = ProbeParameters.Part(settings);
        // Prompts are what a detector must catch: they carry the model's own answers when asked.
        ProbeFile Read(string skill, ProbeSplit split)
        {
            var file = WorldProbes.Read(WorldDir, skill, part, ProbeLimit, split);
            return part == ProbeTextPart.Prompt && KsdOwnAnswers ? file with { ModelAnswers = OwnAnswers(skill, split, cancel) } : file;
        }
        var others = WorldProbes.Skills.Where(s => s != forgetSkill).ToList();
        bool validation = fitter.NeedsValidation(settings);
        return fitter.Run(new AdapterFitContext
        {
            Model = Model, Tokenizer = Tokenizer, Settings = settings, Seed = method.Seed ?? Seed, Progress = progress, Cancel = cancel,
            StatisticsCache = statistics,
            Forget = new[] { Read(forgetSkill, ProbeSplit.Probe) },
            Retain = others.Select(s => Read(s, ProbeSplit.Probe)).ToList(),
            ForgetValidation = validation ? Read(forgetSkill, ProbeSplit.Validation) : null,
            RetainValidation = validation ? others.Where(s => WorldProbes.ValidationPath(s) is not null).Select(s => Read(s, ProbeSplit.Validation)).ToList() : Array.Empty<ProbeFile>(),
        });
    }

    /// <summary>Pre-activation values of chosen neurons at every token of the forget and retain probe sets (full texts).</summary>
    public (IReadOnlyDictionary<(int Layer, int Index), List<float>> forget, IReadOnlyDictionary<(int Layer, int Index), List<float>> retain)
        TraceNeurons(string forgetSkill, IReadOnlyList<(int Layer, int Index)> neurons, CancellationToken cancel = default)
    {
        IReadOnlyDictionary<(int, int), List<float>> Trace(IEnumerable<ProbeFile> files)
        {
            var encoded = ProbeSets.Encode(Tokenizer, files.SelectMany(f => f.Texts), Model.Config.MaxPositions, Model.Config.VocabSize);
            var traces = new NeuronTraces(neurons);
            ActivationStatistics.Collect(Model, encoded.Ids, new[] { traces }, BatchSize, null, cancel);
            return traces.Traces;
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
