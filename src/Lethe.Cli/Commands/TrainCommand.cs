// `lethe train MODEL --data FILE... --out DIR [options] [--config FILE.json] [--resume]`: trains
// (or fine-tunes) a causal LM. OUT/metrics.jsonl gets one line per step, OUT/checkpoint/ a
// resumable checkpoint every --checkpoint-every steps, and OUT/model/ the final Hugging Face
// folder. A config file holds the same settings as JSON keys without dashes
// ({"steps": 500, "lr": 3e-4, "data": ["a.txt"]}); flags given on the command line win; an
// unknown key is refused. OUT is checked by the output policy (never an input, never another
// verb's folder without --force); --init writes its random start into OUT/init, not into MODEL.
using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lethe.IO;
using Lethe.Models;
using Lethe.Models.Training;
using Lethe.Tensors;
using Lethe.Tokenizers;

namespace Lethe.Cli.Commands;

public static class TrainCommand
{
    public static Command Build()
    {
        var model = CliArgs.Model();
        var data = new Option<string[]?>("--data") { Description = "Training files: .txt (documents separated by blank lines) or .jsonl ({text} or {prompt, answer})" };
        var output = new Option<string?>("--out") { Description = "Output folder (metrics, checkpoint, final model)" };
        var config = new Option<string?>("--config") { Description = "JSON file with the same settings (keys without dashes)" };
        var resume = new Option<bool>("--resume") { Description = "Continue from OUT/checkpoint" };
        var init = new Option<bool>("--init") { Description = "Start from random weights (seeded by --seed) when MODEL holds only config.json and tokenizer.json" };
        var steps = new Option<int?>("--steps") { Description = "Optimizer steps (default 100)" };
        var batch = new Option<int?>("--batch-size") { Description = "Sequences per micro-batch (default 8)" };
        var seqLen = new Option<int?>("--seq-len") { Description = "Tokens per sequence (default 256)" };
        var accum = new Option<int?>("--grad-accum") { Description = "Micro-batches per step (default 1)" };
        var lr = new Option<float?>("--lr") { Description = "Peak learning rate (default 3e-4)" };
        var schedule = new Option<string?>("--schedule") { Description = "constant, linear or cosine (default cosine)" };
        var warmup = new Option<int?>("--warmup") { Description = "Warm-up steps (default 0)" };
        var decay = new Option<float?>("--weight-decay") { Description = "AdamW weight decay (default 0.01)" };
        var clip = new Option<double?>("--clip") { Description = "Clip gradients to this global norm, 0 = off (default 1)" };
        var every = new Option<int?>("--checkpoint-every") { Description = "Steps between checkpoints (default 100)" };
        var force = CliChecks.Force();
        var dtype = CliArgs.TrainingDType();
        var cmd = new Command("train", "Train or fine-tune a causal LM (resumable)")
            { model, data, output, config, resume, init, steps, batch, seqLen, accum, lr, schedule, warmup, decay, clip, every, force, dtype };
        cmd.SetAction((parse, cancel) =>
        {
            string? configPath = parse.GetValue(config);
            var file = configPath is not null ? ReadConfig(configPath) : new JsonObject();
            T Get<T>(Option<T> o, string key, T dflt)
            {
                var v = parse.GetValue(o);
                if (v is not null && !(v is Array { Length: 0 })) return v;
                if (file[key] is { } node)
                {
                    try { return node.Deserialize<T>()!; }
                    catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NotSupportedException)
                    { throw new LetheException($"{configPath}: '{key}' has the wrong type ({node.ToJsonString()})"); }
                }
                return dflt;
            }
            string modelDir = parse.GetValue(model)!;
            CliArgs.CheckTrainingDType(Get(dtype, "dtype", (string?)null), "train");
            var files = Get(data, "data", (string[]?)null) ?? Array.Empty<string>();
            // Every output is checked against every input before anything is read or written.
            var policy = CliChecks.Outputs(parse, "train", force).Inputs(modelDir, files, configPath);
            string outDir = policy.Folder("--out", Get(output, "out", (string?)null) ?? throw new LetheException("give --out DIR (or \"out\" in the config file)"),
                OutputPolicy.FolderOf("checkpoint", "checkpoint.tmp", "checkpoint.old", "metrics.jsonl", "model", "init"));
            var options = new TrainOptions
            {
                Steps = CliChecks.AtLeast(Get(steps, "steps", (int?)100)!.Value, 1, "--steps"),
                GradAccum = CliChecks.AtLeast(Get(accum, "grad_accum", (int?)1)!.Value, 1, "--grad-accum"),
                LearningRate = (float)CliChecks.InRange(Get(lr, "lr", (float?)3e-4f)!.Value, "--lr", 0, 1e3, minOpen: true),
                Schedule = Get(schedule, "schedule", (string?)"cosine")!,
                Warmup = CliChecks.AtLeast(Get(warmup, "warmup", (int?)0)!.Value, 0, "--warmup"),
                WeightDecay = (float)CliChecks.InRange(Get(decay, "weight_decay", (float?)0.01f)!.Value, "--weight-decay", 0, 1e3),
                ClipNorm = CliChecks.InRange(Get(clip, "clip", (double?)1.0)!.Value, "--clip", 0, double.PositiveInfinity),
                CheckpointEvery = CliChecks.AtLeast(Get(every, "checkpoint_every", (int?)100)!.Value, 1, "--checkpoint-every"),
                OutDir = outDir, Quiet = parse.GetValue(LetheCli.Quiet),
            };
            int batchSize = CliChecks.AtLeast(Get(batch, "batch_size", (int?)8)!.Value, 1, "--batch-size");
            int sequence = CliChecks.AtLeast(Get(seqLen, "seq_len", (int?)256)!.Value, 2, "--seq-len");
            bool resuming = parse.GetValue(resume);
            if (Trainer.HasCheckpoint(outDir) && !resuming)
                throw new LetheException($"{Path.Combine(outDir, "checkpoint")} exists: pass --resume to continue that run, or choose a new --out");
            ulong seed = parse.GetValue(LetheCli.Seed) ?? 0;
            if (parse.GetValue(init) || (file["init"] is { } i && (i is JsonValue v && v.TryGetValue(out bool b) ? b : throw new LetheException($"{configPath}: 'init' must be true or false"))))
                modelDir = InitialModel(modelDir, outDir, seed, resuming);
            using var m = ModelLoader.Load(modelDir, DType.F32, writable: true);
            var tokenizer = Tokenizer.Load(modelDir);
            var source = TrainingData.Open(files, tokenizer, m.Config, batchSize, sequence, seed);
            var trainer = new Trainer(m, source, options);
            var err = parse.InvocationConfiguration.Error;
            if (resuming && !trainer.TryResume()) err.WriteLine($"no checkpoint in {Path.Combine(outDir, "checkpoint")}; starting from step 0");
            else if (resuming) err.WriteLine($"resumed at step {trainer.Step}");
            Directory.CreateDirectory(outDir);
            OutputPolicy.Mark(outDir, "train");
            var history = trainer.Run(cancel);
            string final = Path.Combine(outDir, "model");
            ModelSaver.Save(m, final);
            var o = parse.InvocationConfiguration.Output;
            if (history.Count > 0) o.WriteLine($"step {history[^1].Step}: loss {history[0].Loss:F4} -> {history[^1].Loss:F4}, {history[^1].TokensPerSecond:F0} tokens/s");
            o.WriteLine($"saved {final}");
            return Task.FromResult(0);
        });
        return cmd;
    }

    /// <summary>
    /// --init: the random starting model lives in OUT/init (config and tokenizer copied from MODEL,
    /// seeded random weights), never in MODEL itself, which is an input and stays untouched.
    /// </summary>
    private static string InitialModel(string modelDir, string outDir, ulong seed, bool resuming)
    {
        if (!Directory.Exists(modelDir)) throw new LetheException($"{modelDir}: not a folder; --init needs a folder with config.json and tokenizer.json");
        if (Directory.EnumerateFiles(modelDir, "*.safetensors").Any())
        {
            if (resuming) return modelDir; // a run started before OUT/init existed: its checkpoint replaces these weights anyway
            throw new LetheException($"{modelDir}: --init starts from random weights, but the folder already holds weights; drop --init to fine-tune them");
        }
        string initDir = Path.Combine(outDir, "init");
        if (resuming && File.Exists(Path.Combine(initDir, SafeTensorsWriter.SingleFileName))) return initDir;
        if (Directory.Exists(initDir)) Directory.Delete(initDir, true); // our own, from a run that never reached a checkpoint
        Directory.CreateDirectory(initDir);
        foreach (var side in Directory.EnumerateFiles(modelDir, "*.json")) File.Copy(side, Path.Combine(initDir, Path.GetFileName(side)));
        ModelInit.WriteRandomWeights(initDir, seed);
        return initDir;
    }

    /// <summary>The keys a --config file may hold; any other is a typo and refused.</summary>
    private static readonly string[] ConfigKeys =
        { "out", "data", "steps", "batch_size", "seq_len", "grad_accum", "lr", "schedule", "warmup", "weight_decay", "clip", "checkpoint_every", "init" };

    private static JsonObject ReadConfig(string path)
    {
        if (!File.Exists(path)) throw new LetheException($"{path}: config file not found");
        JsonObject json;
        try { json = JsonNode.Parse(InputFiles.ReadAllText(path)) as JsonObject ?? throw new LetheException($"{path}: must hold a JSON object"); }
        catch (JsonException e) { throw new LetheException($"{path}: not valid JSON ({e.Message})"); }
        foreach (var (key, _) in json)
            if (!ConfigKeys.Contains(key))
                throw new LetheException($"{path}: unknown key '{key}'; a train config may hold {string.Join(", ", ConfigKeys)} (the options' names without dashes, '-' as '_')");
        return json;
    }
}
