// Runs a weight-editing method end to end, for every method alike:
//   1. checks the output path (a new folder; never the model's own folder) and the data;
//   2. loads the model once (memory-mapped) as the frozen reference, and the trained model over
//      the same tensors except the selected ones (TrainedModel), refusing runs whose memory
//      estimate exceeds the machine's available memory;
//   3. steps: gradients of the method's objective (UnlearnStep), optional clipping,
//      AdamW on the trained tensors only; metrics.jsonl gets every loss term per step, stderr a
//      progress line with the terms and the ETA;
//   4. a non-finite loss stops the run before the weights change, saving that last good state
//      as the checkpoint and naming the step and the terms;
//   5. checkpoints (trained tensors, Adam moments, step, data positions, method state) in
//      OUT.partial/checkpoint every checkpoint_every steps, swapped in whole; --resume continues
//      from it exactly;
//   6. at the end writes the Hugging Face folder (input dtype) and unlearn_run.json into OUT.partial,
//      drops the checkpoint and renames OUT.partial to OUT: the output appears complete or not at all.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lethe.IO;
using Lethe.Models;
using Lethe.Models.Training;
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Tensors.Ops;
using Lethe.Tensors.Optim;
using Lethe.Tokenizers;
using Lethe.Util;

namespace Lethe.Unlearning.Training;

public sealed record UnlearnRunOptions
{
    public required string ModelDir { get; init; }
    public required string OutDir { get; init; }
    public required IReadOnlyList<string> Forget { get; init; }
    public IReadOnlyList<string> Retain { get; init; } = Array.Empty<string>();
    /// <summary>
    /// One relative share per retain file: the share of retain rows each file gives, whatever its
    /// size (null = the files' examples pooled, so a file's share is its size). For a small file
    /// that would drown among large ones, e.g. knowledge documents beside text in seven languages.
    /// </summary>
    public IReadOnlyList<double>? RetainShares { get; init; }
    /// <summary>Glob patterns of the tensors to train; empty = the method's default.</summary>
    public IReadOnlyList<string> Patterns { get; init; } = Array.Empty<string>();
    public ulong Seed { get; init; }
    public bool Resume { get; init; }
    public bool Quiet { get; init; }
    public TextWriter? Stderr { get; init; }
    /// <summary>Stop (as if killed) after this many steps, leaving OUT.partial to resume; for tests.</summary>
    public long? StopAfterStep { get; init; }
    /// <summary>Memory the run may use; null = the machine's available memory.</summary>
    public long? AvailableMemoryBytes { get; init; }
    /// <summary>Replace an existing OUT (the caller's output policy allowed it: Lethe's own earlier output of this verb, or --force); otherwise OUT must not exist.</summary>
    public bool ReplaceExisting { get; init; }
    /// <summary>The verb recorded in OUT's output marker (Lethe.IO.OutputPolicy), so a rerun of the same verb recognizes its own folder.</summary>
    public string? Verb { get; init; }
}

public sealed record UnlearnResult(string OutDir, long Steps, IReadOnlyList<IReadOnlyDictionary<string, double>> History, double WallSeconds, long PeakMemoryBytes, bool Finished);

public static class UnlearnRunner
{
    public const string PartialSuffix = ".partial";

    /// <summary>Deletes a run's output folder and its unfinished (PartialSuffix) folder, so that Run starts it afresh; for experiments' scratch runs.</summary>
    public static void Clear(string outDir)
    {
        foreach (var dir in new[] { outDir, outDir + PartialSuffix }) if (Directory.Exists(dir)) Directory.Delete(dir, true);
    }

    public static UnlearnResult Run(ITrainingMethod method, MethodSettings s, UnlearnRunOptions o, CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        string outDir = Path.GetFullPath(o.OutDir), modelDir = Path.GetFullPath(o.ModelDir);
        string work = outDir + PartialSuffix, checkpoint = Path.Combine(work, "checkpoint");
        CheckOutput(outDir, modelDir, o.ReplaceExisting);
        if (Directory.Exists(work) && !o.Resume)
            throw LetheException.About($"{work} holds an unfinished run: continue it with resume, or delete it", "resume");

        int steps = s.Integer("steps", 1), batchSize = s.Integer("batch_size", 1), maxTokens = s.Integer("max_tokens", 2);
        int every = s.Integer("checkpoint_every", 1), warmup = s.Integer("warmup", 0);
        double lr = s.Number("lr"), clip = s.Number("clip");
        if (lr <= 0) throw new LetheException($"{method.Name}: lr must be positive, got {lr}");

        // Data first: bad data is refused before the model is loaded.
        if (o.Forget.Count == 0) throw new LetheException($"{method.Name} needs forget data: give at least one forget file");
        var forgetSets = method.ForgetDomains
            ? o.Forget.Select(f => UnlearnData.LoadFile("forget", f)).ToList()
            : new List<UnlearnDataSet> { UnlearnData.Load("forget", o.Forget) };
        UnlearnDataSet? retainSet = null;
        List<UnlearnDataSet>? retainFiles = null;   // one set per file: retain shares draw from each
        if (method.NeedsRetain(s))
        {
            if (o.Retain.Count == 0) throw new LetheException($"{method.Name} needs retain data: give at least one retain file");
            retainFiles = o.Retain.Select(f => UnlearnData.LoadFile("retain", f)).ToList();
            retainSet = UnlearnData.Pool("retain", retainFiles);
            foreach (var f in forgetSets) UnlearnData.CheckDistinct(f, retainSet);
        }
        if (o.RetainShares is { } shares)
        {
            if (retainSet is null) throw LetheException.About($"{method.Name} takes no retain data, so retain_shares has nothing to share out; leave it out", "retain_shares");
            if (shares.Count != o.Retain.Count)
                throw LetheException.About($"retain_shares has {shares.Count} values for {o.Retain.Count} retain files; give one share per retain file, in the same order", "retain_shares");
            for (int k = 0; k < shares.Count; k++)
                if (!(shares[k] > 0) || double.IsInfinity(shares[k]))
                    throw LetheException.About($"retain_shares value {k + 1} ({shares[k]}, for {o.Retain[k]}) must be a positive number", "retain_shares");
        }

        using var reference = ModelLoader.Load(modelDir);
        var config = reference.Config;
        int? lastLayer = method.LastLayer(config, s);
        var names = o.Patterns.Count > 0 ? ParameterSelection.Match(config, o.Patterns) : method.DefaultTrainable(config, s).ToList();
        if (lastLayer is int last)
            foreach (var n in names)
                if ((ParameterSelection.LayerOf(config, n) ?? int.MaxValue) > last)
                    throw new LetheException($"{method.Name}: tensor '{n}' lies after layer {last}, the last layer this method runs, so it would never change; choose tensors in layers 0..{last}");
        var inputDType = reference.Weights[WeightLayout.EmbedName(config)].DType;
        CheckMemory(reference, names, batchSize, maxTokens, lastLayer, o.AvailableMemoryBytes);

        using var trained = new TrainedModel(reference, names);
        var tokenizer = Tokenizer.Load(modelDir);
        int pad = config.EosTokenIds.Length > 0 ? config.EosTokenIds[0] : 0;
        IBatchSource Source(IEnumerable<UnlearnExample> examples, ulong salt) =>
            new PromptAnswerSource(UnlearnData.Tokenize(examples, tokenizer, config, maxTokens), batchSize, maxTokens, pad, o.Seed + salt);
        var forgetSources = forgetSets.Select((f, k) => Source(f.Examples, (ulong)k)).ToList();
        var retainSource = retainSet is null ? null
            : o.RetainShares is { } retainShares
                ? new PromptAnswerSource(retainFiles!.Select(f => UnlearnData.Tokenize(f.Examples, tokenizer, config, maxTokens)).ToList(),
                    retainShares, batchSize, maxTokens, pad, o.Seed + 1000)
                : Source(retainSet.Examples, 1000);
        // Same seed as forget source 0: the same example order, so refusal k pairs with forget example k.
        var refusalSource = method.NeedsRefusals ? Source(UnlearnRefusals.For(forgetSets[0].Examples), 0) : null;
        var sources = forgetSources.Append(retainSource).Append(refusalSource).ToList();

        var objective = method.Begin(new UnlearnContext
        {
            Trained = trained.Trained, Reference = reference, Settings = s, Forget = forgetSources, Retain = retainSource, Refusals = refusalSource, Seed = o.Seed,
        });
        var optimizer = new AdamW(trained.Parameters, new AdamWOptions
        {
            LearningRate = (float)lr, Beta1 = 0.9f, Beta2 = 0.999f, Eps = (float)s.Number("adam_eps"), WeightDecay = (float)s.Number("weight_decay"),
        });
        var schedule = LearningRateSchedule.Parse("constant", (float)lr, warmup, steps);

        long step = 0;
        double previousSeconds = 0;
        string metricsPath = Path.Combine(work, "metrics.jsonl");
        CheckpointFolder.Recover(checkpoint);
        if (o.Resume && CheckpointFolder.IsComplete(checkpoint))
        {
            (step, previousSeconds) = LoadCheckpoint(checkpoint, trained, optimizer, sources, objective);
            CheckpointFolder.TrimMetrics(metricsPath, step);
            if (!o.Quiet) (o.Stderr ?? Console.Error).WriteLine($"resumed {method.Name} at step {step}");
        }
        else
        {
            if (Directory.Exists(work)) Directory.Delete(work, true);
            Directory.CreateDirectory(work);
        }

        var history = new List<IReadOnlyDictionary<string, double>>();
        long until = Math.Min(steps, o.StopAfterStep ?? steps);
        using (var arena = new TensorArena())
        using (var progress = new Progress(method.Name, until - step, "steps", o.Quiet, o.Stderr))
        {
            while (step < until)
            {
                cancel.ThrowIfCancellationRequested();
                Grad.Zero(trained.Parameters);
                var terms = new Dictionary<string, double> { ["step"] = step + 1 };
                foreach (var (k, v) in UnlearnStep.Gradients(objective, step, arena)) terms[k] = v;
                // Back-propagation has not changed the weights: a non-finite loss stops the run before the optimizer step.
                if (terms.Values.Any(v => !double.IsFinite(v)))
                {
                    SaveCheckpoint(checkpoint, trained, optimizer, sources, objective, step, previousSeconds + clock.Elapsed.TotalSeconds);
                    throw new LetheException($"{method.Name}: the loss became non-finite at step {step + 1} ({FormatTerms(terms)}); " +
                        $"the weights before that step are saved in {checkpoint}; lower lr or change the data, then resume");
                }
                if (clip > 0) terms["grad_norm"] = GradientClipping.ClipByGlobalNorm(trained.Parameters, clip);
                optimizer.LearningRate = schedule.At(step);
                optimizer.Step();
                step++;
                terms["lr"] = optimizer.LearningRate;
                history.Add(terms);
                File.AppendAllText(metricsPath, JsonSerializer.Serialize(terms) + "\n");
                progress.Advance(1, FormatTerms(terms));
                if (step % every == 0 || step == until)
                    SaveCheckpoint(checkpoint, trained, optimizer, sources, objective, step, previousSeconds + clock.Elapsed.TotalSeconds);
            }
        }
        if (step < steps) return new UnlearnResult(work, step, history, clock.Elapsed.TotalSeconds, PeakMemory(), Finished: false);

        // Finish: the model folder and the run record, then one rename.
        ModelSaver.Save(trained.Trained, work, dtype: inputDType);
        double wall = previousSeconds + clock.Elapsed.TotalSeconds;
        var record = s.ToJson();
        foreach (var (key, value) in new JsonObject
        {
            ["trained_tensors"] = new JsonArray(names.Select(n => (JsonNode?)n).ToArray()),
            ["trained_parameters"] = trained.Parameters.Sum(p => p.Length),
            ["model"] = modelDir,
            ["model_dtype"] = inputDType.Name(),
            ["data"] = new JsonObject
            {
                ["forget"] = Hashes(forgetSets), ["retain"] = retainSet is null ? new JsonObject() : Hashes(new[] { retainSet }),
                ["forget_examples"] = forgetSets.Sum(f => f.Examples.Count), ["retain_examples"] = retainSet?.Examples.Count ?? 0,
                ["retain_shares"] = o.RetainShares is { } rs ? new JsonArray(rs.Select(x => (JsonNode?)x).ToArray()) : null,
            },
            ["seed"] = o.Seed,
            ["steps"] = step,
            ["wall_seconds"] = Math.Round(wall, 3),
            ["peak_memory_bytes"] = PeakMemory(),
            ["final"] = history.Count > 0 ? new JsonObject(history[^1].Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))) : null,
        }.ToList()) record[key] = value?.DeepClone();
        AtomicFile.WriteAllText(Path.Combine(work, "unlearn_run.json"), record.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        CheckpointFolder.Remove(checkpoint);
        if (o.Verb is not null) OutputPolicy.Mark(work, o.Verb);
        string replaced = outDir + ".replaced";
        if (Directory.Exists(outDir)) { if (Directory.Exists(replaced)) Directory.Delete(replaced, true); Directory.Move(outDir, replaced); }
        Directory.Move(work, outDir);
        if (Directory.Exists(replaced)) Directory.Delete(replaced, true);
        return new UnlearnResult(outDir, step, history, wall, PeakMemory(), Finished: true);
    }

    /// <summary>OUT must be new and must not be, contain or lie inside the model's folder.</summary>
    public static void CheckOutput(string outDir, string modelDir, bool replaceExisting = false)
    {
        static string Slash(string p) => p.EndsWith(Path.DirectorySeparatorChar) ? p : p + Path.DirectorySeparatorChar;
        if (Slash(outDir) == Slash(modelDir) || Slash(outDir).StartsWith(Slash(modelDir)) || Slash(modelDir).StartsWith(Slash(outDir)))
            throw new LetheException($"{outDir}: the output folder overlaps the input model folder {modelDir}; write the unlearned model to a new folder");
        if (File.Exists(outDir) || (Directory.Exists(outDir) && !replaceExisting))
            throw new LetheException($"{outDir} already exists; choose a new output folder (the unlearned model is written as a whole new folder)");
    }

    /// <summary>
    /// Estimated bytes: the weights (mapped, counted once) + per trained tensor a copy, a gradient and
    /// two Adam moments (4 × f32) + activations: per layer run, about 16 widths of d and 3 of d_ff per
    /// token kept for backward, times the sequences in flight (two batches), + logits when the head runs.
    /// </summary>
    public static long EstimateMemory(TransformerModel model, IReadOnlyList<string> trained, int batch, int maxTokens, int? lastLayer)
    {
        var c = model.Config;
        long weights = model.Weights.Values.Sum(t => t.Length * t.DType.SizeOf());
        long trainedBytes = trained.Sum(n => model.Weights[n].Length) * 4L * 4;
        int layers = (lastLayer ?? c.NumLayers - 1) + 1;
        long tokens = 2L * batch * maxTokens;
        long perToken = layers * (16L * c.HiddenSize + 3L * c.IntermediateSize) * 4 + (lastLayer is null ? 3L * c.VocabSize * 4 : 0);
        return weights + trainedBytes + tokens * perToken;
    }

    private static void CheckMemory(TransformerModel model, IReadOnlyList<string> trained, int batch, int maxTokens, int? lastLayer, long? available)
    {
        long estimate = EstimateMemory(model, trained, batch, maxTokens, lastLayer);
        long have = available ?? AvailableMemory();
        if (estimate > have)
            throw new LetheException($"the run needs about {estimate / 1e9:F2} GB (weights, {trained.Count} trained tensors with gradients and Adam moments, activations of {batch} × {maxTokens} tokens) " +
                $"but {have / 1e9:F2} GB are available; lower batch_size or max_tokens, or train fewer tensors");
    }

    /// <summary>MemAvailable of /proc/meminfo on Linux (what can be used without swapping), else the runtime's memory limit.</summary>
    public static long AvailableMemory()
    {
        long limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemAvailable:") && long.TryParse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], out long kb))
                    return Math.Min(limit, kb * 1024);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return limit;
    }

    private static long PeakMemory() { using var p = Process.GetCurrentProcess(); p.Refresh(); return p.PeakWorkingSet64; }

    private static string FormatTerms(IReadOnlyDictionary<string, double> terms) =>
        string.Join(" ", terms.Where(kv => kv.Key is not ("step" or "lr")).Select(kv => $"{kv.Key} {kv.Value.ToString("G5", CultureInfo.InvariantCulture)}"));

    private static JsonObject Hashes(IEnumerable<UnlearnDataSet> sets) =>
        new(sets.SelectMany(d => d.Sha256).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));

    private static void SaveCheckpoint(string dir, TrainedModel trained, Optimizer optimizer, IReadOnlyList<IBatchSource?> sources, IUnlearningObjective objective, long step, double seconds) =>
        CheckpointFolder.Save(dir, temp =>
        {
            var writer = new SafeTensorsWriter();
            foreach (var (name, t) in trained.TrainedNames.Zip(trained.Parameters)) writer.Add(name, t);
            writer.Save(Path.Combine(temp, "trained.safetensors"));
            var state = new JsonObject
            {
                ["positions"] = new JsonArray(sources.Select(x => (JsonNode?)(x?.Position ?? -1)).ToArray()),
                ["seconds"] = seconds,
                ["method_state"] = objective.SaveState() is { } ms ? new JsonObject(ms.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))) : null,
            };
            AtomicFile.WriteAllText(Path.Combine(temp, "unlearn_state.json"), state.ToJsonString());
            TrainingState.Save(temp, optimizer, step, dataPosition: 0); // trainer_state.json last: the folder is now complete
        });

    private static (long step, double seconds) LoadCheckpoint(string dir, TrainedModel trained, Optimizer optimizer, IReadOnlyList<IBatchSource?> sources, IUnlearningObjective objective)
    {
        string statePath = Path.Combine(dir, "unlearn_state.json");
        if (!File.Exists(statePath)) throw new LetheException($"{statePath}: missing; the checkpoint is incomplete — delete {Path.GetDirectoryName(dir)} to start over");
        using (var file = SafeTensorsFile.Open(Path.Combine(dir, "trained.safetensors")))
            foreach (var (name, t) in trained.TrainedNames.Zip(trained.Parameters))
            {
                if (!file.Names.Contains(name)) throw new LetheException($"{dir}: the checkpoint does not hold '{name}'; it belongs to a run that trained other tensors — delete it to start over");
                using var saved = file.LoadAs(name, DType.F32);
                t.CopyFrom(saved);
            }
        var (step, _) = TrainingState.Load(dir, optimizer);
        var json = (JsonObject)JsonNode.Parse(File.ReadAllText(statePath))!;
        var positions = json["positions"]!.AsArray();
        if (positions.Count != sources.Count) throw new LetheException($"{statePath}: saved for {positions.Count} data sources, this run has {sources.Count}; it belongs to another run");
        for (int i = 0; i < sources.Count; i++) if (sources[i] is { } src) src.Position = positions[i]!.GetValue<long>();
        if (json["method_state"] is JsonObject ms) objective.LoadState(ms.ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<double>()));
        return (step, json["seconds"]?.GetValue<double>() ?? 0);
    }
}
