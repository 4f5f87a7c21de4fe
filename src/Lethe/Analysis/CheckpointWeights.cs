// Reads chosen weights of a model folder without loading the model: each call opens the checkpoint,
// copies the named tensors out (as f32, in the decoder's compute layout — GPT-2's Conv1D weights
// transposed, GPT-NeoX's fused qkv regrouped) and closes it again, so no page of the file stays
// mapped. Dissection reads the original's weights this way, one window or one layer at a time,
// while the unlearned model is the one model in memory.
using Lethe.IO;
using Lethe.Models;
using Lethe.Tensors;

namespace Lethe.Analysis;

public sealed class CheckpointWeights : IDisposable
{
    private readonly Dictionary<string, Tensor> tensors = new();
    public IReadOnlyDictionary<string, Tensor> Tensors => tensors;

    public static CheckpointWeights Read(string folder, ModelConfig config, IEnumerable<string> names)
    {
        var result = new CheckpointWeights();
        try
        {
            using var checkpoint = SafeTensorsCheckpoint.Open(folder);
            foreach (var name in names.Distinct())
            {
                // GPT2LMHeadModel.save_pretrained writes "transformer.h.0..."; the hub's files say "h.0..." (as ModelLoader).
                string stored = checkpoint.Contains(name) ? name
                    : config.ModelType == "gpt2" && checkpoint.Contains("transformer." + name) ? "transformer." + name
                    : throw new LetheException($"{folder}: weight '{name}' is missing from the checkpoint");
                var raw = checkpoint.LoadAs(stored, DType.F32);
                if (raw.Storage.ReadOnly) { var copy = raw.Clone(); raw.Dispose(); raw = copy; }
                var t = FusedWeights.ToComputeLayout(config, name, raw);
                if (!ReferenceEquals(t, raw)) raw.Dispose();
                result.tensors[name] = t;
            }
            return result;
        }
        catch { result.Dispose(); throw; }
    }

    public void Dispose()
    {
        foreach (var t in tensors.Values) t.Dispose();
        tensors.Clear();
    }
}
