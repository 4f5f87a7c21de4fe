// The training loop for causal LMs: gradient accumulation over micro-batches, AdamW, a learning-
// rate schedule, clipping by global norm, a progress line with loss, tokens/s and ETA, metrics as
// JSONL, and checkpoints that resume exactly (weights, optimizer moments, step, data position).
// Activations live in an arena that is reset after every micro-batch, so steps do not churn memory.
using System.Diagnostics;
using System.Text.Json;
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Tensors.Ops;
using Lethe.Tensors.Optim;
using Lethe.Util;

namespace Lethe.Models.Training;

public sealed record TrainOptions
{
    public int Steps { get; init; } = 100;
    public int GradAccum { get; init; } = 1;
    public float LearningRate { get; init; } = 3e-4f;
    public string Schedule { get; init; } = "cosine";
    public int Warmup { get; init; } = 0;
    public float WeightDecay { get; init; } = 0.01f;
    public float Beta1 { get; init; } = 0.9f;
    public float Beta2 { get; init; } = 0.95f;
    public float Eps { get; init; } = 1e-8f;
    /// <summary>0 = no clipping.</summary>
    public double ClipNorm { get; init; } = 1.0;
    /// <summary>Folder for checkpoint/ and metrics.jsonl; null = no checkpoints or metrics file.</summary>
    public string? OutDir { get; init; }
    public int CheckpointEvery { get; init; } = 100;
    public bool Quiet { get; init; }
}

public sealed record StepMetrics(long Step, double Loss, double LearningRate, double GradNorm, long Tokens, double TokensPerSecond, double ElapsedSeconds);

public sealed class Trainer
{
    private readonly TransformerModel model;
    private readonly IBatchSource data;
    private readonly TrainOptions options;
    private readonly AdamW optimizer;
    private readonly LearningRateSchedule schedule;
    private readonly TextWriter? stderr;

    public long Step { get; private set; }
    public IReadOnlyList<Tensor> Trainable => optimizer.Parameters;

    /// <param name="trainable">Weights to train (default: every weight of the model). They must be writable f32.</param>
    public Trainer(TransformerModel model, IBatchSource data, TrainOptions options, IEnumerable<Tensor>? trainable = null, TextWriter? stderr = null)
    {
        if (options.Steps <= 0) throw LetheException.About($"steps must be positive, got {options.Steps}", "steps");
        if (options.GradAccum <= 0) throw LetheException.About($"grad_accum must be positive, got {options.GradAccum}", "grad_accum");
        this.model = model; this.data = data; this.options = options; this.stderr = stderr;
        var parameters = (trainable ?? model.Weights.Values).Distinct().ToArray();
        foreach (var p in parameters) p.RequiresGrad = true;
        optimizer = new AdamW(parameters, new AdamWOptions
        {
            LearningRate = options.LearningRate, Beta1 = options.Beta1, Beta2 = options.Beta2, Eps = options.Eps, WeightDecay = options.WeightDecay,
        });
        schedule = LearningRateSchedule.Parse(options.Schedule, options.LearningRate, options.Warmup, options.Steps);
    }

    private string? CheckpointDir => options.OutDir is null ? null : Path.Combine(options.OutDir, "checkpoint");

    /// <summary>Runs until options.Steps (continuing from a resumed step); returns the metrics of each step run.</summary>
    public List<StepMetrics> Run(CancellationToken cancel = default) => RunUntil(options.Steps, cancel);

    /// <summary>Runs until step `until` (≤ options.Steps): the schedule still spans options.Steps, as when a run is interrupted.</summary>
    public List<StepMetrics> RunUntil(long until, CancellationToken cancel = default)
    {
        if (until > options.Steps) throw new LetheException($"cannot run to step {until}: the run has {options.Steps} steps");
        var history = new List<StepMetrics>();
        if (options.OutDir is not null) Directory.CreateDirectory(options.OutDir);
        if (!metricsTrimmed) { TrimMetrics(); metricsTrimmed = true; }
        using var arena = new TensorArena();
        using var progress = new Progress("train", until - Step, "steps", options.Quiet, stderr);
        var clock = Stopwatch.StartNew();
        long tokens = 0;
        while (Step < until)
        {
            cancel.ThrowIfCancellationRequested();
            optimizer.ZeroGrad();
            double lossSum = 0;
            for (int micro = 0; micro < options.GradAccum; micro++)
            {
                var batch = data.Next();
                tokens += batch.Ids.Length;
                using (arena.Activate())
                using (var tape = Tape.Begin())
                {
                    var logits = model.Forward(batch.Ids, batch.Batch);
                    var loss = Op.CrossEntropy(logits, batch.Targets, TrainingBatch.IgnoreIndex);
                    lossSum += loss.AsReadOnlySpan()[0];
                    tape.Backward(Op.Scale(loss, 1f / options.GradAccum));
                }
                arena.Reset();
            }
            double gradNorm = options.ClipNorm > 0 ? GradientClipping.ClipByGlobalNorm(optimizer.Parameters, options.ClipNorm) : double.NaN;
            optimizer.LearningRate = schedule.At(Step);
            optimizer.Step();
            Step++;
            double loss1 = lossSum / options.GradAccum;
            if (!double.IsFinite(loss1)) throw LetheException.About($"training diverged at step {Step}: the loss is {loss1}; lower lr or raise warmup", "lr", "warmup");
            var m = new StepMetrics(Step, loss1, optimizer.LearningRate, gradNorm, tokens, tokens / clock.Elapsed.TotalSeconds, clock.Elapsed.TotalSeconds);
            history.Add(m);
            AppendMetrics(m);
            progress.Advance(1, $"loss {loss1:F4} | {m.TokensPerSecond:F0} tok/s");
            if (CheckpointDir is not null && (Step % options.CheckpointEvery == 0 || Step == until)) SaveCheckpoint();
        }
        return history;
    }

    private void AppendMetrics(StepMetrics m)
    {
        if (options.OutDir is null) return;
        var line = JsonSerializer.Serialize(new
        {
            step = m.Step, loss = m.Loss, lr = m.LearningRate, grad_norm = double.IsFinite(m.GradNorm) ? m.GradNorm : (double?)null,
            tokens = m.Tokens, tokens_per_s = m.TokensPerSecond, elapsed_s = m.ElapsedSeconds,
        });
        File.AppendAllText(Path.Combine(options.OutDir, "metrics.jsonl"), line + "\n");
    }

    private bool metricsTrimmed;

    /// <summary>Keeps only the metrics lines of steps the run has really done (≤ Step); see CheckpointFolder.TrimMetrics.</summary>
    private void TrimMetrics()
    {
        if (options.OutDir is not null) CheckpointFolder.TrimMetrics(Path.Combine(options.OutDir, "metrics.jsonl"), Step);
    }

    /// <summary>Whether OUT holds a checkpoint (possibly mid-swap) that --resume would continue.</summary>
    public static bool HasCheckpoint(string outDir) => CheckpointFolder.Exists(Path.Combine(outDir, "checkpoint"));

    /// <summary>Writes OUT/checkpoint/ as a whole (CheckpointFolder: a kill at any instant leaves a complete copy).</summary>
    public void SaveCheckpoint()
    {
        string dir = CheckpointDir ?? throw new LetheException("no output folder was given, so there is nowhere to save a checkpoint");
        CheckpointFolder.Save(dir, temp =>
        {
            ModelSaver.SaveWeights(model, Path.Combine(temp, "model.safetensors"));
            TrainingState.Save(temp, optimizer, Step, data.Position); // trainer_state.json last: the folder is now complete
        });
    }

    /// <summary>Restores weights, optimizer state, step and data position from OUT/checkpoint/ if present.</summary>
    public bool TryResume()
    {
        string? dir = CheckpointDir;
        if (dir is null) return false;
        CheckpointFolder.Recover(dir);
        if (!CheckpointFolder.IsComplete(dir)) return false;
        ModelSaver.LoadWeightsInto(model, Path.Combine(dir, "model.safetensors"));
        var (step, position) = TrainingState.Load(dir, optimizer);
        Step = step; data.Position = position;
        return true;
    }
}
