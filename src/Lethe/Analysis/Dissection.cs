// [S2]'s dissection of one original / unlearned pair, with one model in memory at a time:
//   1. the original (memory-mapped) answers every question greedily; its logits at the scored
//      answer rows and its activations at the patch points (every layer, every position) are
//      cached as plain copies; it is closed;
//   2. the unlearned model is opened (memory-mapped, like the original): baseline
//      D(M_o, M_u) per question, activation patching original → unlearned for every point ×
//      positions × layer window, then parameter restoration per group × window and the value-vector
//      drift per layer (the original's tensors of one window or layer are copied out of its files,
//      which are closed again: CheckpointWeights); with --reverse its own activations are cached
//      too; it is closed;
//   3. with --reverse the original is loaded again and patched unlearned → original.
// KRS per question and intervention, summarised by KrsSummary (mean over questions, bootstrap
// interval; "undefined" when the two models agree exactly). The memory plan's numbers — one model's
// weight bytes, the cache's bytes and the process's peak working set — are part of the result.
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lethe.Models;
using Lethe.Tensors;
using Lethe.Tokenizers;

namespace Lethe.Analysis;

/// <summary>What to dissect; Radius (the sliding windows) is ignored when Layers is given.</summary>
public sealed record DissectionOptions : PairOptions
{
    public IReadOnlyList<string> Points { get; init; } = PatchPoints.Default;
    public IReadOnlyList<PatchPositions> Positions { get; init; } = new[] { PatchPositions.All };
    /// <summary>One explicit window "a-b" instead of the sliding ones.</summary>
    public string? Layers { get; init; }
    public IReadOnlyList<string> Restore { get; init; } = ParameterGroups.Default;
    public bool Reverse { get; init; }
}

public sealed record PatchResult(string Direction, string Point, PatchPositions Positions, LayerWindow Window, KrsSummary Krs);
public sealed record RestoreResult(string Group, LayerWindow Window, KrsSummary Krs);

public sealed class DissectionResult
{
    public required string Original { get; init; }
    public required string Unlearned { get; init; }
    public required int Questions { get; init; }
    public required AnswerSet Answers { get; init; }
    public required double[] Baseline { get; init; }
    public required List<PatchResult> Patching { get; init; }
    public required List<RestoreResult> Restoration { get; init; }
    public required List<LayerDrift> Drift { get; init; }
    public required long WeightBytes { get; init; }
    public required long CacheBytes { get; init; }
    public required long PeakWorkingSet { get; init; }
    public required double Seconds { get; init; }
    public required DissectionOptions Options { get; init; }
    public required List<LayerWindow> Windows { get; init; }

    public KrsSummary Find(string direction, string point, PatchPositions positions, int center) =>
        Patching.Single(p => p.Direction == direction && p.Point == point && p.Positions == positions && p.Window.Center == center).Krs;
}

public static class Dissection
{
    public const string Forward = "original->unlearned", Reverse = "unlearned->original";

    public static DissectionResult Run(string originalDir, string unlearnedDir, IReadOnlyList<string> questions, DissectionOptions o, Action<string>? log = null)
    {
        var clock = Stopwatch.StartNew();
        ModelPair.RequireComparable(originalDir, unlearnedDir);
        var config = ModelConfig.Load(originalDir);
        var components = o.Points.SelectMany(PatchPoints.Expand).Distinct().ToArray();
        var windows = o.Layers is { } text ? new List<LayerWindow> { LayerWindows.Parse(text, config.NumLayers) } : LayerWindows.Sliding(config.NumLayers, o.Radius);
        foreach (var g in o.Restore) ParameterGroups.Names(config, g, windows[0]); // a bad group fails before any model runs
        if (questions.Count == 0) throw new LetheException("no questions to ask; give a concept file or a text file with one question per line");
        var tokenizer = Tokenizer.Load(originalDir);

        AnswerSet answers;
        SourceRun fromOriginal;
        using (var original = ModelLoader.Load(originalDir, o.DType))
        {
            log?.Invoke($"dissect: the original answers {questions.Count} questions ({o.AnswerTokens} tokens at most)");
            answers = AnswerSet.Build(original, tokenizer, questions, o.AnswerTokens);
            if (answers.Items.Count == 0)
                throw new LetheException(answers.SkippedEmpty.Count == 0
                    ? $"{originalDir}: none of the {answers.SkippedTooLong.Count} questions fits the model's context ({config.MaxPositions} positions) with a {o.AnswerTokens}-token answer; give shorter questions or fewer answer tokens (--answer-tokens)"
                    : $"{originalDir}: the original model gave an empty answer to all {answers.SkippedEmpty.Count} questions "
                    + $"({answers.SkippedTooLong.Count} more did not fit its context); there is nothing to score");
            if (answers.SkippedEmpty.Count > 0) log?.Invoke($"dissect: skipped {answers.SkippedEmpty.Count} questions whose original answer is empty");
            fromOriginal = SourceRun.Capture(original, answers, components);
        }
        ReleaseGarbage(log, "the original's pass");
        long weightBytes = WeightBytes(originalDir);
        var patching = new List<PatchResult>();
        var restoration = new List<RestoreResult>();
        List<LayerDrift> drift;
        double[] baseline;
        SourceRun? fromUnlearned = null;
        long cacheBytes = fromOriginal.Bytes;
        try
        {
            using (var unlearned = ModelLoader.Load(unlearnedDir, o.DType))
            {
                baseline = ActivationPatching.Distances(unlearned, fromOriginal, _ => null);
                log?.Invoke($"dissect: baseline D(original, unlearned) = {baseline.Average():G4} over {answers.Items.Count} answers");
                ReleaseGarbage(log, "the baseline");
                if (o.Reverse) { fromUnlearned = SourceRun.Capture(unlearned, answers, components); cacheBytes += fromUnlearned.Bytes; }
                patching.AddRange(Sweep(Forward, unlearned, fromOriginal, baseline, windows, o, log));
                foreach (var group in o.Restore)
                    foreach (var w in windows)
                    {
                        var names = ParameterGroups.Names(config, group, w);
                        double[] d;
                        using (var originalWeights = CheckpointWeights.Read(originalDir, config, names))
                        using (var restored = ParameterRestoration.With(unlearned, originalWeights.Tensors))
                            d = ActivationPatching.Distances(restored, fromOriginal, _ => null);
                        restoration.Add(new RestoreResult(group, w, KnowledgeRecoveryScore.Summarise(baseline, d, o.Seed)));
                    }
                if (o.Restore.Count > 0) log?.Invoke($"dissect: restored {string.Join(", ", o.Restore)} over {windows.Count} windows");
                drift = Enumerable.Range(0, config.NumLayers).Select(l =>
                {
                    using var originalLayer = CheckpointWeights.Read(originalDir, config, ValueVectors.DriftNames(config, l));
                    return ValueVectors.LayerDriftOf(config, l, originalLayer.Tensors, unlearned.Weights);
                }).ToList();
            }
            if (fromUnlearned is not null)
            {
                using var original = ModelLoader.Load(originalDir, o.DType);
                patching.AddRange(Sweep(Reverse, original, fromUnlearned, baseline, windows, o, log));
            }
        }
        finally
        {
            fromOriginal.Dispose();
            fromUnlearned?.Dispose();
        }
        return new DissectionResult
        {
            Original = originalDir, Unlearned = unlearnedDir, Questions = questions.Count, Answers = answers, Baseline = baseline,
            Patching = patching, Restoration = restoration, Drift = drift, WeightBytes = weightBytes, CacheBytes = cacheBytes,
            PeakWorkingSet = Process.GetCurrentProcess().PeakWorkingSet64, Seconds = clock.Elapsed.TotalSeconds, Options = o, Windows = windows,
        };
    }

    private static IEnumerable<PatchResult> Sweep(string direction, TransformerModel target, SourceRun source, double[] baseline,
        List<LayerWindow> windows, DissectionOptions o, Action<string>? log)
    {
        var results = new List<PatchResult>();
        foreach (var point in o.Points)
        {
            var comps = PatchPoints.Expand(point);
            foreach (var pos in o.Positions)
                foreach (var w in windows)
                {
                    var d = ActivationPatching.Distances(target, source, i => ActivationPatching.Hooks(source, i, comps, w, pos));
                    results.Add(new PatchResult(direction, point, pos, w, KnowledgeRecoveryScore.Summarise(baseline, d, o.Seed)));
                }
            log?.Invoke($"dissect: patched {point} {direction} over {windows.Count} windows (working set {Environment.WorkingSet / 1e6:0} MB, peak so far {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:0} MB)");
        }
        return results;
    }

    /// <summary>
    /// Between phases: a blocking, compacting collection that gives the freed managed memory back to the OS
    /// (the generation and capture of the original leave large-object-heap garbage that the GC would otherwise keep
    /// mapped next to the second model), and the working set for the log.
    /// </summary>
    private static void ReleaseGarbage(Action<string>? log, string after)
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        using var self = Process.GetCurrentProcess();
        log?.Invoke($"dissect: after {after}: working set {self.WorkingSet64 / 1e6:0} MB, managed heap {GC.GetTotalMemory(false) / 1e6:0} MB");
    }

    private static long WeightBytes(string folder)
    {
        using var checkpoint = IO.SafeTensorsCheckpoint.Open(folder);
        return checkpoint.Files.Sum(f => new FileInfo(f.Path).Length);
    }

    // ---- output ----

    private static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;

    public static JsonObject ToJson(DissectionResult r)
    {
        var skipped = new JsonArray(r.Answers.SkippedEmpty.Select(q => (JsonNode?)JsonValue.Create(q)).ToArray());
        return new JsonObject
        {
            ["original"] = r.Original, ["unlearned"] = r.Unlearned,
            ["template"] = AnswerSet.Template, ["answer_tokens"] = r.Options.AnswerTokens,
            ["questions"] = r.Questions, ["scored"] = r.Answers.Items.Count,
            ["skipped_empty_answer"] = r.Answers.SkippedEmpty.Count, ["skipped_empty_answer_questions"] = skipped,
            ["skipped_too_long"] = r.Answers.SkippedTooLong.Count,
            ["windows"] = new JsonArray(r.Windows.Select(w => (JsonNode?)new JsonArray(w.From, w.To)).ToArray()),
            ["baseline_distance"] = new JsonObject
            {
                ["mean"] = Num(r.Baseline.Average()),
                ["per_question"] = new JsonArray(r.Baseline.Select(Num).ToArray()),
            },
            ["answers"] = new JsonArray(r.Answers.Items.Select((q, i) => (JsonNode?)new JsonObject
            {
                ["question"] = q.Question, ["answer"] = q.Answer, ["answer_tokens"] = q.AnswerLength, ["distance"] = Num(r.Baseline[i]),
            }).ToArray()),
            ["patching"] = new JsonArray(r.Patching.Select(p => (JsonNode?)With(p.Krs.ToJson(), new JsonObject
            {
                ["direction"] = p.Direction, ["point"] = p.Point, ["positions"] = PatchPoints.Name(p.Positions),
                ["center"] = p.Window.Center, ["layers"] = new JsonArray(p.Window.From, p.Window.To),
            })).ToArray()),
            ["restoration"] = new JsonArray(r.Restoration.Select(p => (JsonNode?)With(p.Krs.ToJson(), new JsonObject
            {
                ["group"] = p.Group, ["center"] = p.Window.Center, ["layers"] = new JsonArray(p.Window.From, p.Window.To),
            })).ToArray()),
            ["value_vector_drift"] = DriftJson(r.Drift),
            ["memory"] = new JsonObject
            {
                ["one_model_weight_bytes"] = r.WeightBytes, ["cache_bytes"] = r.CacheBytes, ["peak_working_set_bytes"] = r.PeakWorkingSet,
                ["peak_over_weights_plus_cache"] = Num((double)r.PeakWorkingSet / (r.WeightBytes + r.CacheBytes)),
            },
            ["seconds"] = Num(r.Seconds),
        };
    }

    public static JsonArray DriftJson(IEnumerable<LayerDrift> drift) => new(drift.Select(d => (JsonNode?)new JsonObject
    {
        ["layer"] = d.Layer, ["value_mean_cosine"] = Num(d.MeanCosine), ["value_min_cosine"] = Num(d.MinCosine), ["value_min_cosine_dim"] = d.MinCosineDim,
        ["value_relative_l2"] = Num(d.ValueRelativeL2), ["key_relative_l2"] = Num(d.KeyRelativeL2), ["attention_relative_l2"] = Num(d.AttentionRelativeL2),
    }).ToArray());

    private static JsonObject With(JsonObject krs, JsonObject head)
    {
        foreach (var (k, v) in krs.ToList()) { krs.Remove(k); head[k] = v; }
        return head;
    }

    /// <summary>The readable tables: KRS per window for each direction × positions, restoration, drift.</summary>
    public static string Table(DissectionResult r)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"Dissection of {r.Unlearned} against {r.Original}");
        sb.AppendLine($"{r.Answers.Items.Count} of {r.Questions} questions scored ({r.Answers.SkippedEmpty.Count} skipped: empty original answer; {r.Answers.SkippedTooLong.Count}: too long); "
            + $"baseline D(original, unlearned) = {r.Baseline.Average():G4} (mean squared logit difference over the answer tokens)");
        sb.AppendLine("KRS = 1 − D(original, patched) / D(original, unlearned): 1 = knowledge fully restored, 0 = no effect; [95 % bootstrap interval over questions]");
        foreach (var dir in r.Patching.Select(p => p.Direction).Distinct())
            foreach (var pos in r.Options.Positions)
            {
                sb.AppendLine().AppendLine($"Activation patching {dir.Replace("->", " → ")}, positions: {PatchPoints.Name(pos)}");
                var points = r.Options.Points;
                Grid(sb, "layers", points, r.Windows, (w, p) => r.Find(dir, p, pos, w.Center).Format());
            }
        if (r.Restoration.Count > 0)
        {
            sb.AppendLine().AppendLine("Parameter restoration (original weights copied into the unlearned model)");
            var groups = r.Restoration.Select(x => x.Group).Distinct().ToList();
            Grid(sb, "layers", groups, r.Windows, (w, g) => r.Restoration.Single(x => x.Group == g && x.Window.Center == w.Center).Krs.Format());
        }
        sb.AppendLine().AppendLine("Weight drift, original → unlearned (value vectors = columns of down_proj)");
        sb.AppendLine($"{"layer",5}  {"value cos mean",14}  {"value cos min",13}  {"value ΔL2",10}  {"gate/up ΔL2",11}  {"attn ΔL2",10}");
        foreach (var d in r.Drift)
            sb.AppendLine($"{d.Layer,5}  {d.MeanCosine,14:0.000000}  {d.MinCosine,13:0.000000}  {d.ValueRelativeL2,10:0.0000}  {d.KeyRelativeL2,11:0.0000}  {d.AttentionRelativeL2,10:0.0000}");
        sb.AppendLine().AppendLine($"memory: one model's weights {r.WeightBytes / 1e6:0.0} MB, cache {r.CacheBytes / 1e6:0.0} MB, peak working set {r.PeakWorkingSet / 1e6:0.0} MB; {r.Seconds:0.0} s");
        return sb.ToString();
    }

    private static void Grid<T>(StringBuilder sb, string rowTitle, IReadOnlyList<T> columns, List<LayerWindow> windows, Func<LayerWindow, T, string> cell)
    {
        const int width = 22;
        sb.Append($"{rowTitle,-8}");
        foreach (var c in columns) sb.Append($"  {c,width}");
        sb.AppendLine();
        foreach (var w in windows)
        {
            sb.Append($"{w,-8}");
            foreach (var c in columns) sb.Append($"  {cell(w, c),width}");
            sb.AppendLine();
        }
    }

    /// <summary>Refuses an output folder that is one of the input model folders (results never go into an input).</summary>
    public static void RequireOutput(string outDir, params string[] modelFolders)
    {
        foreach (var input in modelFolders)
            if (Path.GetFullPath(outDir).TrimEnd('/') == Path.GetFullPath(input).TrimEnd('/'))
                throw new LetheException($"--out {outDir} is the model folder {input}; write the results to a folder of their own");
    }

    /// <summary>Writes dissection.json and dissection.txt into outDir, each atomically.</summary>
    public static (string json, string table) Write(DissectionResult r, string outDir)
    {
        RequireOutput(outDir, r.Original, r.Unlearned);
        Directory.CreateDirectory(outDir);
        string json = Path.Combine(outDir, "dissection.json"), table = Path.Combine(outDir, "dissection.txt");
        Util.AtomicFile.WriteAllText(json, ToJson(r).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        Util.AtomicFile.WriteAllText(table, Table(r));
        return (json, table);
    }
}
