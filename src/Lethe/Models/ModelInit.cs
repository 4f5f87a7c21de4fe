// Fresh weights for a config (training from scratch), as transformers initialises them: matrices
// and embeddings from N(0, initializer_range²) (0.02 by default), norm weights 1 (0 for Gemma's
// (1 + w) form), biases 0; matrices optionally stored as f16/bf16, and a per-tensor std may
// replace the common one (benchmarks keep deep random models' activations O(1)). Seeded, so the
// same seed gives the same model. Written as the folder's model.safetensors (atomically), next to
// its config.json and tokenizer.json.
using Lethe.IO;
using Lethe.Tensors;

namespace Lethe.Models;

public static class ModelInit
{
    public static void WriteRandomWeights(string folder, ulong seed, float std = 0.02f, DType matrixDType = DType.F32,
        Func<string, int[], float>? stdOf = null)
    {
        var config = ModelConfig.Load(folder);
        string target = Path.Combine(folder, SafeTensorsWriter.SingleFileName);
        if (File.Exists(target) || File.Exists(Path.Combine(folder, SafeTensorsWriter.IndexFileName)))
            throw LetheException.About($"{folder}: already holds weights; init only starts a model from config.json, it never overwrites weights", "init");
        var rng = new Rng(seed);
        var writer = new SafeTensorsWriter();
        writer.Metadata["format"] = "pt";
        var made = new List<Tensor>();
        foreach (var (name, shape) in WeightLayout.Expected(config))
        {
            Tensor t;
            if (shape.Length > 1) t = Tensor.Randn(shape, rng, stdOf?.Invoke(name, shape) ?? std);
            else if (name.EndsWith(".bias")) t = Tensor.ZerosPersistent(shape);
            else t = config.Norm == NormKind.RmsNormPlusOne ? Tensor.ZerosPersistent(shape) : Tensor.Full(shape, 1f);
            if (shape.Length > 1 && matrixDType != DType.F32) { var half = t.To(matrixDType); t.Dispose(); t = half; }
            made.Add(t);
            writer.Add(name, t);
        }
        writer.Save(target);
        foreach (var t in made) t.Dispose();
    }
}
