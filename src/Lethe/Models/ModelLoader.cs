// Opens a Hugging Face model folder (config.json + model.safetensors or a sharded index) as a
// TransformerModel. Weights are memory-mapped and used in place: a bf16 checkpoint stays bf16 in
// memory and is widened inside GEMM packing / embedding lookup. Norm weights and biases (small)
// are widened to f32 because the fused norm kernels read f32. `dtype` converts every matrix on
// load (for example bf16 to halve memory); `writable` copies the weights into memory so they can
// be trained or edited (training needs dtype f32 and writable); the files are then unmapped.
// Names and shapes are verified against the architecture before anything is used.
// A path to a .gguf file is loaded by GgufModel (dequantized into memory) instead.
using Lethe.IO;
using Lethe.Tensors;

namespace Lethe.Models;

public static unsafe class ModelLoader
{
    /// <summary>
    /// Loads a model for int8 inference (--dtype q8_0): every Linear weight gets a Q8_0 copy
    /// (TransformerModel.QuantizeLinearWeightsQ8). A GGUF file's Q8_0 matrices are taken as they are
    /// stored, and its projections are held as int8 alone (GgufModel.Load with int8); the others
    /// are quantized from their values. keepOthersInBf16: matrices whose rows are not a multiple of
    /// 32 stay in bf16 instead of stopping the load.
    /// </summary>
    public static TransformerModel LoadQ8(string path, bool keepOthersInBf16)
    {
        var m = Load(path, keepOthersInBf16 ? DType.BF16 : null, writable: false, int8: true);
        try { m.QuantizeLinearWeightsQ8(keepOthersInBf16); }
        catch { m.Dispose(); throw; }
        return m;
    }

    public static TransformerModel Load(string folder, DType? dtype = null, bool writable = false) => Load(folder, dtype, writable, int8: false);

    /// <summary>
    /// Load for decoding (generate, eval, serve): as Load, but where the machine gives 2 MB pages
    /// (LargePages) the weights that would be used in place from the mapped file are copied into
    /// them, and the files are unmapped. Decoding reads every weight at every token, and from the
    /// page cache's 4 KB pages the TLB misses cost about a quarter of the products' time on the
    /// Zen 4 VM (docs/engine-int8.md, "Huge pages"). The copy costs a pass over the weights at
    /// load (the finiteness check reads them anyway) and holds them as the process's own memory
    /// instead of the shared page cache; the resident size stays about the weights' size.
    /// </summary>
    public static TransformerModel LoadForDecoding(string path, DType? dtype = null) => Load(path, dtype, writable: false, int8: false, copyMapped: LargePages.Enabled);

    /// <summary>
    /// int8 (for LoadQ8, which then quantizes): a matrix only Linear products read (a fused q/k/v
    /// too) that would otherwise be copied into memory (converted to dtype, or to the compute
    /// layout) is held as a DequantizedStorage over the mapped checkpoint tensor instead, its dense
    /// values made only if something reads them. GGUF files: GgufModel.Load's int8.
    /// </summary>
    internal static TransformerModel Load(string folder, DType? dtype, bool writable, bool int8, bool copyMapped = false)
    {
        if (IO.Gguf.GgufFile.LooksLikeGguf(folder)) return IO.Gguf.GgufModel.Load(folder, dtype, writable, int8);
        if (!Directory.Exists(folder)) throw new LetheException($"{folder}: not a folder; MODEL is a folder with config.json, *.safetensors and tokenizer.json");
        var config = ModelConfig.Load(folder);
        var checkpoint = SafeTensorsCheckpoint.Open(folder);
        var owned = new List<IDisposable> { checkpoint };
        try
        {
            // GPT2LMHeadModel.save_pretrained writes "transformer.h.0..."; the hub's gpt2 files say "h.0...".
            var byName = new Dictionary<string, string>();
            foreach (var stored in checkpoint.Names)
            {
                string name = config.ModelType == "gpt2" && stored.StartsWith("transformer.") ? stored["transformer.".Length..] : stored;
                byName[name] = stored;
            }
            var shapes = byName.ToDictionary(kv => kv.Key, kv => checkpoint.Entry(kv.Value).Shape.ToArray());
            WeightLayout.Verify(config, shapes, checkpoint.Path);
            var int8Only = int8 ? WeightLayout.LinearOnlyNames(config) : [];
            var weights = new Dictionary<string, Tensor>();
            foreach (var (name, shape) in WeightLayout.Expected(config))
            {
                string stored = byName[name];
                // A NaN or infinite weight poisons every output; say which tensor before anything runs
                // (one pass over the bytes at memory speed).
                checkpoint.CheckFinite(stored);
                if (int8Only.Contains(name) && LateInt8(config, checkpoint, name, stored, dtype, owned) is { } late)
                {
                    weights[name] = late;
                    checkpoint.ReleasePages(stored); // read again when quantized
                    continue;
                }
                bool small = shape.Length == 1;
                Tensor t = small || dtype is not null
                    ? checkpoint.LoadAs(stored, small ? DType.F32 : dtype!.Value)
                    : checkpoint.Load(stored);
                if ((writable || copyMapped) && t.Storage.ReadOnly) { var copy = CopyToMemory(t); t.Dispose(); t = copy; }
                t.Name = name;
                owned.Add(t); // frees converted copies; a mapped view owns nothing (the checkpoint does)
                weights[name] = t;
                // The file pages the check and a copy read go back (a later read takes them from the
                // page cache): a copy's source is not read again, and a matrix that int8 quantizes is
                // read once more for that. (A weight used in place keeps them: inference reads them.)
                // Until 2026-12-06 every page of the files stayed resident: a GPT-2 f32 folder of 356 MB
                // peaked at 755 MB under f32, 772 under bf16 and 399 under q8_0 (docs/engine-int8.md, Memory).
                if (t.Storage is not MappedStorage || int8Only.Contains(name)) checkpoint.ReleasePages(stored);
            }
            FusedWeights.ToComputeLayout(config, weights, owned);
            // A writable model, or one loaded for decoding with its mapped weights copied, holds
            // copies only: unmap the files, so their pages (read once for the copies and the
            // finiteness check) no longer count in the process's memory.
            if (writable || copyMapped) { owned.Remove(checkpoint); checkpoint.Dispose(); }
            return new TransformerModel(config, weights, owned);
        }
        catch
        {
            foreach (var o in owned) o.Dispose();
            throw;
        }
    }

    /// <summary>A mapped (read-only) weight copied into memory of its own: long-lived, so on 2 MB pages where there are (Tensor.ZerosPersistent, pooled).</summary>
    private static Tensor CopyToMemory(Tensor t)
    {
        var copy = Tensor.ZerosPersistent(t.Shape, t.DType, pooled: true);
        copy.CopyFrom(t);
        return copy;
    }

    /// <summary>
    /// The weight as a DequantizedStorage over its mapped checkpoint tensor, when loading it would
    /// otherwise copy it (another dtype, or another layout) and it can be quantized; else null.
    /// </summary>
    private static Tensor? LateInt8(ModelConfig config, SafeTensorsCheckpoint checkpoint, string name, string stored, DType? dtype, List<IDisposable> owned)
    {
        var entry = checkpoint.Entry(stored);
        if (entry.DType.ToTensorDType() is not { } storedType || entry.Shape.Length != 2) return null; // f64 is converted on load anyway
        bool converted = dtype is { } d && d != storedType, relaid = FusedWeights.ChangesLayout(config, name);
        if (!converted && !relaid) return null; // used in place, mapped
        var source = checkpoint.Load(stored); // a mapped view: its reference on the mapping, which the late tensor reads
        var rows = FusedWeights.ComputeRows(config, name, source) ?? new TensorRows(source);
        if (!Q8Matrix.CanQuantize(rows.Rows, rows.Cols)) { source.Dispose(); return null; }
        owned.Add(source);
        var t = DequantizedStorage.TensorOf(rows, dtype ?? storedType);
        t.Name = name;
        owned.Add(t);
        return t;
    }
}
