// Writes a model back as a Hugging Face folder: config.json and tokenizer files copied from the
// source (or derived from it when the model was loaded from a .gguf file), weights under their checkpoint names and layouts (fused tensors converted back), in
// safetensors, sharded above a size limit, every file atomic. Also loads saved weights into a
// model in place (training resume).
using Lethe.IO;
using Lethe.Tensors;

namespace Lethe.Models;

public static class ModelSaver
{
    private static readonly string[] SideFiles = { "config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json" };

    public static void Save(TransformerModel model, string outDir, long maxShardBytes = SafeTensorsWriter.DefaultMaxShardBytes, DType? dtype = null)
    {
        string source = Path.GetDirectoryName(Path.GetFullPath(model.Config.SourcePath))!;
        if (OutputPolicy.Canonical(outDir) == OutputPolicy.Canonical(source))
            throw new LetheException($"{outDir}: is the folder the model was loaded from; write to a new folder so the original stays intact");
        Directory.CreateDirectory(outDir);
        if (IO.Gguf.GgufFile.LooksLikeGguf(model.Config.SourcePath)) IO.Gguf.GgufModel.WriteHfSideFiles(model.Config.SourcePath, outDir);
        else
            foreach (var f in SideFiles)
                if (File.Exists(Path.Combine(source, f))) File.Copy(Path.Combine(source, f), Path.Combine(outDir, f), overwrite: true);
        Writer(model, dtype).SaveSharded(outDir, maxShardBytes);
    }

    public static void SaveWeights(TransformerModel model, string path) => Writer(model, null).Save(path);

    private static SafeTensorsWriter Writer(TransformerModel model, DType? dtype)
    {
        var writer = new SafeTensorsWriter();
        writer.Metadata["format"] = "pt";
        foreach (var (name, _) in WeightLayout.Expected(model.Config))
        {
            var t = FusedWeights.ToCheckpointLayout(model.Config, name, model.Weights[name]);
            writer.Add(name, dtype is { } d ? t.To(d) : t);
        }
        return writer;
    }

    /// <summary>Copies weights saved by SaveWeights into the model's (writable) tensors.</summary>
    public static void LoadWeightsInto(TransformerModel model, string path)
    {
        using var file = SafeTensorsFile.Open(path);
        var shapes = file.Names.ToDictionary(n => n, n => file.Entry(n).Shape.ToArray());
        WeightLayout.Verify(model.Config, shapes, path);
        foreach (var (name, _) in WeightLayout.Expected(model.Config))
        {
            var target = model.Weights[name];
            if (target.Storage.ReadOnly) throw new LetheException($"{name}: the model's weights are memory-mapped read-only; load it as f32 and writable to train or resume");
            using var saved = file.LoadAs(name, DType.F32);
            target.CopyFrom(FusedWeights.ToComputeLayout(model.Config, name, saved));
        }
    }
}
