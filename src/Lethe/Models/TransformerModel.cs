// The generic decoder-only transformer that runs every supported family from one ModelConfig:
//   embed (+ learned positions, × sqrt(d) for Gemma) → blocks → final norm → LM head (→ soft-cap)
// One block, in the terms of the hook points (HookPoints.cs):
//   resid_pre → [norm1] → q, k, v (+ bias, clip, q/k-norm, RoPE) → attention → o_proj = attn_out
//   → [post-attn norm] → resid_mid = resid_pre + that → [norm2] → gate/first proj = mlp.pre_act
//   → act(pre_act) (⊙ up) = mlp.coeff → down_proj = mlp_out → [post-MLP norm] → resid_post.
// GPT-NeoX's parallel residual adds attention and MLP (fed from resid_pre) together; resid_mid is
// then resid_pre + attention output. All activations are [B·T, width] rows; batches are equal-
// length sequences with optional left/right padding given per sequence.
using Lethe.Tensors;
using Lethe.Tensors.Kernels;
using Lethe.Models.Generation;
using Lethe.Tensors.Ops;

namespace Lethe.Models;

/// <summary>Options of one forward pass.</summary>
public sealed record ForwardOptions
{
    public HookSet? Hooks { get; init; }
    /// <summary>Stop after this block and return its resid_post (RMU trains on the truncated model); null = run all.</summary>
    public int? StopAfterLayer { get; init; }
    /// <summary>Rows (batch·T + position) whose logits are needed; null = all rows.</summary>
    public int[]? LogitRows { get; init; }
    /// <summary>Per sequence: keys at positions ≥ length are padding.</summary>
    public int[]? KeyLengths { get; init; }
    /// <summary>Per sequence: keys before this index are padding (left padding); positions count from it.</summary>
    public int[]? KeyStart { get; init; }
    /// <summary>
    /// Incremental decoding (no gradients): the ids are the next tokens after the cache's contents;
    /// their keys and values are appended to it and attention reads the whole cache in place.
    /// </summary>
    public KvCache? Cache { get; init; }
}

public sealed partial class TransformerModel : IDisposable
{
    private readonly Dictionary<string, Tensor> weights;
    private readonly LayerWeights[] layers;
    private readonly HookNames.Layer[] hookNames;
    private readonly RopeTable? rope;
    private readonly List<IDisposable> owned;
    /// <summary>Layers whose q/k/v are row views of one fused checkpoint tensor (GPT-2, GPT-NeoX).</summary>
    private readonly (Tensor qkv, Tensor? qkvBias, LayerWeights layer)[] fused;

    public ModelConfig Config { get; }
    /// <summary>Every weight by its checkpoint name (fused tensors under their original names).</summary>
    public IReadOnlyDictionary<string, Tensor> Weights => weights;

    /// <summary>
    /// How the KV caches that decoding creates (DecodeBatch: generate, eval, serve) hold keys and
    /// values: F32 (the default), or BF16 / F16, half the bytes that each decoding step reads from
    /// its cache, each stored row rounded once (KvCache). An inference setting like q8_0 weights:
    /// prompts still attend over their own fp32 rows, and nothing that trains reads it.
    /// </summary>
    public DType KvCacheStorage { get; set; } = DType.F32;

    private sealed class LayerWeights
    {
        public Tensor? Norm1, Norm1Bias, Norm2, Norm2Bias, PostAttnNorm, PostMlpNorm;
        public Tensor Q = null!, K = null!, V = null!, O = null!;
        public Tensor? QBias, KBias, VBias, OBias, QNorm, KNorm;
        public Tensor? Gate; public Tensor Up = null!, Down = null!; public Tensor? UpBias, DownBias;

        // The products that share an input, as LinearShared takes them: made once, not in every
        // forward pass (a decoding step runs them for every token).
        private Tensor[]? qkv, gateUp;
        private Tensor?[]? qkvBiases, gateUpBiases;
        public Tensor[] Qkv => qkv ??= new[] { Q, K, V };
        public Tensor?[] QkvBiases => qkvBiases ??= new[] { QBias, KBias, VBias };
        public Tensor[] GateUp => gateUp ??= new[] { Gate!, Up };
        public Tensor?[] GateUpBiases => gateUpBiases ??= new[] { null, UpBias };
    }

    /// <param name="weights">Tensors by checkpoint name, already verified with WeightLayout.Verify.</param>
    /// <param name="owned">Resources (mappings, converted copies) the model frees on Dispose.</param>
    public TransformerModel(ModelConfig config, Dictionary<string, Tensor> weights, List<IDisposable>? owned = null)
    {
        Config = config;
        this.weights = weights;
        this.owned = owned ?? new List<IDisposable>();
        layers = new LayerWeights[config.NumLayers];
        hookNames = new HookNames.Layer[config.NumLayers];
        for (int i = 0; i < config.NumLayers; i++) { layers[i] = BindLayer(i); hookNames[i] = new HookNames.Layer(i); }
        fused = Enumerable.Range(0, config.NumLayers)
            .Select(i => (names: WeightLayout.Layer(config, i), layer: layers[i]))
            .Where(x => x.names.Qkv is not null)
            .Select(x => (weights[x.names.Qkv!], Wopt(x.names.QkvBias), x.layer)).ToArray();
        if (config.RotaryDim > 0)
            rope = RopeTable.Create(config.HeadDim, config.RotaryDim, config.RopeTheta, config.MaxPositions,
                config.RopeScaling is { } s ? new RopeScaling(s.Type, s.Factor, s.LowFreqFactor, s.HighFreqFactor, s.OriginalMaxPositions) : null);
        decodeBlockFits = DecodeBlockFits();
    }

    /// <summary>Whether decoding steps may run DecodeBlock (TransformerModel.Decode.cs) instead of Block.</summary>
    private readonly bool decodeBlockFits;

    private Tensor W(string name) => weights.TryGetValue(name, out var t) ? t : throw new LetheException($"weight '{name}' is missing from the model");
    private Tensor? Wopt(string? name) => name is null ? null : W(name);

    private LayerWeights BindLayer(int i)
    {
        var n = WeightLayout.Layer(Config, i);
        var lw = new LayerWeights
        {
            Norm1 = Wopt(n.Norm1), Norm1Bias = Wopt(n.Norm1Bias), Norm2 = Wopt(n.Norm2), Norm2Bias = Wopt(n.Norm2Bias),
            PostAttnNorm = Wopt(n.PostAttnNorm), PostMlpNorm = Wopt(n.PostMlpNorm),
            O = W(n.O!), OBias = Wopt(n.OBias), QNorm = Wopt(n.QNorm), KNorm = Wopt(n.KNorm),
            Gate = Wopt(n.Gate), Up = W(n.Up!), Down = W(n.Down!), UpBias = Wopt(n.UpBias), DownBias = Wopt(n.DownBias),
        };
        if (n.Qkv is null)
        {
            lw.Q = W(n.Q!); lw.K = W(n.K!); lw.V = W(n.V!);
            lw.QBias = Wopt(n.QBias); lw.KBias = Wopt(n.KBias); lw.VBias = Wopt(n.VBias);
        }
        else
        {
            // Fused q/k/v was reordered at load into [q rows; k rows; v rows] (FusedWeights.cs),
            // so the three projections are contiguous row blocks: views, no copies.
            int d = Config.NumHeads * Config.HeadDim;
            var qkv = W(n.Qkv); var qkvBias = Wopt(n.QkvBias);
            lw.Q = qkv.Narrow(0, 0, d); lw.K = qkv.Narrow(0, d, d); lw.V = qkv.Narrow(0, 2 * d, d);
            if (qkvBias != null) { lw.QBias = qkvBias.Narrow(0, 0, d); lw.KBias = qkvBias.Narrow(0, d, d); lw.VBias = qkvBias.Narrow(0, 2 * d, d); }
        }
        return lw;
    }

    private Tensor Norm(Tensor x, Tensor? w, Tensor? b) => Config.Norm switch
    {
        NormKind.RmsNorm => Op.RmsNorm(x, w, Config.NormEps),
        NormKind.RmsNormPlusOne => Op.RmsNorm(x, w, Config.NormEps, addOneToWeight: true),
        NormKind.LayerNorm => Op.LayerNorm(x, w, b, Config.NormEps),
        _ => Op.LayerNorm(x, null, null, Config.NormEps),
    };

    private static Tensor Hook(HookSet? hooks, string name, Tensor x) => hooks is null ? x : hooks.Apply(name, x);

    /// <summary>
    /// Runs ids [B, T] (row-major, ids.Length = B·T) and returns logits [rows, vocab] for all rows or
    /// options.LogitRows — or, with StopAfterLayer, that block's output [B·T, d].
    /// </summary>
    public Tensor Forward(ReadOnlySpan<int> ids, int batch, ForwardOptions? options = null)
    {
        options ??= new ForwardOptions();
        if (batch <= 0 || ids.Length % batch != 0)
            throw new LetheException($"Forward: {ids.Length} ids do not split into {batch} sequences of equal length");
        int T = ids.Length / batch, d = Config.HiddenSize;
        var hooks = options.Hooks is { IsEmpty: false } h ? h : null;
        int lastLayer = options.StopAfterLayer ?? Config.NumLayers - 1;
        if (lastLayer < 0 || lastLayer >= Config.NumLayers)
            throw new LetheException($"Forward: StopAfterLayer {lastLayer} is outside 0..{Config.NumLayers - 1}");

        var cache = options.Cache;
        int past = 0;
        if (cache is not null)
        {
            cache.CheckFits(Config, batch, T);
            if (Tensors.Autograd.Tape.Active is not null) throw new LetheException("Forward with a KV cache runs without gradients; wrap it in Tape.NoGrad()");
            past = cache.Length;
            cache.RowsStayCached = KvRowsStayCached(cache, CpuInfo.Caches);
        }
        if (past + T > Config.MaxPositions && (Config.LearnedPositions || rope is not null))
            throw new LetheException($"Forward: {past + T} positions exceed max_position_embeddings {Config.MaxPositions} of {Config.SourcePath}");
        if (fused.Length > 0) LinkFusedGradients();
        var positions = Positions(batch, T, past, options.KeyStart);
        var x = Op.Embedding(W(WeightLayout.EmbedName(Config)), ids);
        if (Config.LearnedPositions) x = Op.Add(x, Op.Embedding(W("wpe.weight"), positions));
        if (Config.ScaleEmbeddings) x = Op.Scale(x, (float)Math.Sqrt(d));
        x = Hook(hooks, HookNames.Embed, x);

        // Without gradients nothing needs a block's temporaries once the next block has read its
        // output, so block i works in scratch arena i % 2, reset when block i + 2 starts: memory
        // stays at two blocks' worth instead of the whole depth. (Hooks must copy what they keep.)
        bool streaming = Tensors.Autograd.Tape.Active is null && scratchDepth == 0;
        // A decoding step (one new token per sequence, nothing hooked) of a Llama-style model skips the op layer.
        bool direct = streaming && cache is not null && T == 1 && hooks is null && decodeBlockFits && !DecodeThroughBlock;
        scratchDepth++;
        try
        {
            for (int i = 0; i <= lastLayer; i++)
            {
                if (!streaming) { x = Block(i, x, batch, T, positions, options, hooks); continue; }
                var arena = Scratch[i % 2];
                arena.Reset();
                using (arena.Activate()) x = direct ? DecodeBlock(i, x, batch, positions, options) : Block(i, x, batch, T, positions, options, hooks);
            }
            if (cache is not null) cache.Length += T;
            if (options.StopAfterLayer is not null) return streaming ? x.Clone() : x;
            return Head(x, options, hooks);
        }
        finally { scratchDepth--; }
    }

    [ThreadStatic] private static TensorArena[]? scratch;
    [ThreadStatic] private static int scratchDepth;
    private static TensorArena[] Scratch => scratch ??= new[] { new TensorArena(16L << 20), new TensorArena(16L << 20) };

    /// <summary>Bytes the no-grad forward passes of this thread keep reserved (memory accounting in tests).</summary>
    internal static long ScratchBytesReserved => scratch?.Sum(a => a.BytesReserved) ?? 0;

    /// <summary>
    /// Rows [n, d] read as if they were the last block's output: final norm, LM head (and soft-cap) →
    /// logits [n, vocab]. The logit lens; dissection projects value vectors onto the vocabulary with it.
    /// </summary>
    public Tensor ToVocabulary(Tensor rows) => Head(rows, new ForwardOptions(), null);

    /// <summary>Final norm and LM head (only at the requested rows), allocated in the caller's arena or heap.</summary>
    private Tensor Head(Tensor x, ForwardOptions options, HookSet? hooks)
    {
        var normed = Config.ModelType == "olmo" || FinalNormWeight() is not null
            ? Norm(x, FinalNormWeight(), Wopt(WeightLayout.FinalNormBiasName(Config))) : x;
        normed = Hook(hooks, HookNames.FinalNorm, normed);
        if (options.LogitRows is { } rows) normed = Op.GatherRows(normed, rows);
        var head = WeightLayout.LmHeadName(Config) is { } headName ? W(headName) : W(WeightLayout.EmbedName(Config));
        var logits = Op.Linear(normed, head);
        if (Config.FinalSoftcap > 0) logits = Op.SoftCap(logits, Config.FinalSoftcap);
        return Hook(hooks, HookNames.Logits, logits);
    }

    /// <summary>
    /// q, k and v of a fused checkpoint tensor are row views of it. When the fused tensor is to be
    /// trained, the views train too and their gradients are views of its gradient, so the optimizer
    /// and the saver see one tensor under its checkpoint name.
    /// </summary>
    private void LinkFusedGradients()
    {
        foreach (var (qkv, qkvBias, lw) in fused)
        {
            Link(qkv, lw.Q, lw.K, lw.V);
            if (qkvBias is not null) Link(qkvBias, lw.QBias!, lw.KBias!, lw.VBias!);
        }

        static void Link(Tensor fusedWeight, Tensor q, Tensor k, Tensor v)
        {
            if (!fusedWeight.RequiresGrad) { q.RequiresGrad = k.RequiresGrad = v.RequiresGrad = false; return; }
            var g = Tensors.Autograd.Grad.Buffer(fusedWeight);
            int rows = q.Dim(0);
            q.RequiresGrad = k.RequiresGrad = v.RequiresGrad = true;
            q.Grad = g.Narrow(0, 0, rows); k.Grad = g.Narrow(0, rows, rows); v.Grad = g.Narrow(0, 2 * rows, rows);
        }
    }

    private Tensor? FinalNormWeight() => Wopt(WeightLayout.FinalNormName(Config));

    /// <summary>Position of each new token: its index after `past` cached ones, minus the sequence's left padding.</summary>
    private static int[] Positions(int batch, int T, int past, int[]? keyStart)
    {
        var pos = new int[batch * T];
        for (int b = 0; b < batch; b++)
        {
            int start = keyStart?[b] ?? 0;
            for (int t = 0; t < T; t++) pos[b * T + t] = Math.Max(0, past + t - start);
        }
        return pos;
    }

    private Tensor Block(int i, Tensor x, int batch, int T, int[] positions, ForwardOptions options, HookSet? hooks)
    {
        var lw = layers[i]; var hn = hookNames[i];
        int H = Config.NumHeads, Hkv = Config.NumKvHeads, Dh = Config.HeadDim;
        x = Hook(hooks, hn.ResidPre, x);

        var attnIn = Config.PostNormsOnly ? x : Norm(x, lw.Norm1, lw.Norm1Bias);
        var qkv = Op.LinearShared(attnIn, lw.Qkv, lw.QkvBiases);
        Tensor q = qkv[0], k = qkv[1], v = qkv[2];
        if (Config.ClipQkv > 0) { q = Op.Clamp(q, -Config.ClipQkv, Config.ClipQkv); k = Op.Clamp(k, -Config.ClipQkv, Config.ClipQkv); v = Op.Clamp(v, -Config.ClipQkv, Config.ClipQkv); }
        if (Config.QkNorm == QkNormKind.FullWidth) { q = Op.RmsNorm(q, lw.QNorm, Config.NormEps); k = Op.RmsNorm(k, lw.KNorm, Config.NormEps); }
        var q4 = Op.Reshape(q, batch, T, H, Dh);
        var k4 = Op.Reshape(k, batch, T, Hkv, Dh);
        var v4 = Op.Reshape(v, batch, T, Hkv, Dh);
        if (Config.QkNorm == QkNormKind.PerHead) { q4 = Op.RmsNorm(q4, lw.QNorm, Config.NormEps); k4 = Op.RmsNorm(k4, lw.KNorm, Config.NormEps); }
        if (rope is not null) { q4 = Op.Rope(q4, rope, positions, interleaved: false); k4 = Op.Rope(k4, rope, positions, interleaved: false); }
        var attnOptions = AttentionOptionsFor(i, options);
        var attn = options.Cache is { } cache ? cache.Attend(i, q4, k4, v4, attnOptions) : Op.Attention(q4, k4, v4, attnOptions);
        var attnOut = Hook(hooks, hn.AttnOut, Op.Linear(Op.Reshape(attn, batch * T, H * Dh), lw.O, lw.OBias));
        if (lw.PostAttnNorm is not null) attnOut = Norm(attnOut, lw.PostAttnNorm, null);
        var mid = Hook(hooks, hn.ResidMid, Op.Add(x, attnOut));

        var mlpIn = Config.ParallelResidual ? Norm(x, lw.Norm2, lw.Norm2Bias)
            : Config.PostNormsOnly ? mid : Norm(mid, lw.Norm2, lw.Norm2Bias);
        Tensor preAct, coeff;
        if (Config.GatedMlp)
        {
            var gateUp = Op.LinearShared(mlpIn, lw.GateUp, lw.GateUpBiases);
            preAct = Hook(hooks, hn.PreAct, gateUp[0]);
            var up = gateUp[1];
            coeff = Config.Act == Activation.Silu ? Op.SwiGlu(preAct, up) : Op.GeGlu(preAct, up, Config.Act == Activation.GeluTanh);
        }
        else
        {
            preAct = Hook(hooks, hn.PreAct, Op.Linear(mlpIn, lw.Up, lw.UpBias));
            coeff = Config.Act == Activation.Silu ? Op.Silu(preAct) : Op.Gelu(preAct, Config.Act == Activation.GeluTanh);
        }
        coeff = Hook(hooks, hn.Coeff, coeff);
        var mlpOut = Hook(hooks, hn.MlpOut, Op.Linear(coeff, lw.Down, lw.DownBias));
        if (lw.PostMlpNorm is not null) mlpOut = Norm(mlpOut, lw.PostMlpNorm, null);
        var post = Op.Add(mid, mlpOut); // parallel residual too: mid = x + attention, so this is x + attn + mlp
        return Hook(hooks, hn.ResidPost, post);
    }

    private AttentionOptions AttentionOptionsFor(int layer, ForwardOptions options)
    {
        double scaleBase = Config.QueryPreAttnScalar > 0 ? Config.QueryPreAttnScalar : Config.HeadDim;
        return new AttentionOptions
        {
            Scale = (float)(1 / Math.Sqrt(scaleBase)), Causal = true, SlidingWindow = Config.SlidingWindows[layer],
            SoftCap = Config.AttnSoftcap, KeyLengths = options.KeyLengths, KeyStart = options.KeyStart,
        };
    }

    /// <summary>
    /// Inference with int8 weights (--dtype q8_0): gives every Linear weight (q, k, v, o, MLP, LM
    /// head) a Q8_0 copy (Tensor.Quantized) that Linear's forward then uses. A matrix whose last
    /// dimension is not a multiple of 32 stops with a message naming it, unless keepOthers is set:
    /// it then stays in its loaded dtype. Returns the number of matrices quantized. The unquantized
    /// weights stay loaded (embedding lookup, and gradients if any are asked for, read them); where
    /// they are mapped from the file, the pages that quantizing read are handed back to the OS, so
    /// that a q8_0 model does not stay resident at its int8 and its stored size together (a later
    /// read, such as the tied embedding's lookup of a few rows, loads them again). A weight held as
    /// int8 alone (DequantizedStorage) is quantized from its source's rows, and a mapped source's
    /// pages are handed back the same way.
    /// </summary>
    public int QuantizeLinearWeightsQ8(bool keepOthers) => QuantizeLinearWeightsQ8(keepOthers, CpuInfo.Caches);

    /// <summary>QuantizeLinearWeightsQ8 as if the CPU had these caches (tests).</summary>
    internal int QuantizeLinearWeightsQ8(bool keepOthers, CacheSizes caches)
    {
        int count = 0;
        var heldAsInt8 = new HashSet<DequantizedStorage>(); // fused matrices whose views read the same pages
        foreach (var (t, name) in LinearWeights())
        {
            if (t.Quantized is not null) continue;
            if (!Q8Matrix.CanQuantize(t.Dim(0), t.Dim(1)) && keepOthers) continue;
            // A weight held as int8 alone (DequantizedStorage; a view of one, like q of a fused q/k/v)
            // is quantized from its source's rows, without making its dense values. Either throws,
            // naming the tensor and its shape, when it cannot be quantized.
            var q = t.Storage is DequantizedStorage late && t.IsContiguous && t.Offset % t.Dim(1) == 0
                ? Q8Matrix.FromRows(t.Dim(0), t.Dim(1), name, (r, row) => late.ReadRow((int)(t.Offset / t.Dim(1)) + r, row))
                : Q8Matrix.FromTensor(t, name);
            owned.Add(q);
            t.Quantized = q;
            t.ReleaseMappedPages();
            if (t.Storage is DequantizedStorage held)
            {
                if (t.Length * t.DType.SizeOf() == held.ByteLength) held.ReleaseSourcePages(); // the whole matrix: its pages are done with
                else heldAsInt8.Add(held); // a view of it (q of a fused q/k/v): once every view is quantized
            }
            count++;
        }
        foreach (var held in heldAsInt8) held.ReleaseSourcePages();
        decodingWeightBytes = -1;   // the products now read the int8 copies
        KeepScalesWidenedWhenCached(caches);
        return count;
    }

    /// <summary>
    /// A decoding step reads every int8 weight once: where they all fit in the caches of the cores
    /// that decode (Q8Gemm.KeepsScalesWidened, the shipped model for one), each matrix keeps its
    /// scales widened to fp32 as well (Q8Matrix.KeepScalesWidened), so that products do not widen
    /// them at every token. The bits do not change.
    /// </summary>
    private void KeepScalesWidenedWhenCached(CacheSizes caches)
    {
        var matrices = new HashSet<Q8Matrix>(ReferenceEqualityComparer.Instance);
        foreach (var (t, _) in LinearWeights()) if (t.Quantized is { } q) matrices.Add(q);
        if (!Q8Gemm.KeepsScalesWidened(matrices.Sum(q => q.StoredBytes), caches, Engine.Threads)) return;
        foreach (var q in matrices) q.KeepScalesWidened();
    }

    /// <summary>
    /// Where the weights are held, in bytes: dense values in memory, dense values mapped from the
    /// checkpoint file (their pages come and go with use), int8 copies (--dtype q8_0), and dense
    /// values a weight held as int8 alone has not made (DequantizedStorage). Storages shared by views
    /// count once.
    /// </summary>
    public WeightMemory MeasureWeightMemory()
    {
        long inMemory = 0, mapped = 0, notMade = 0, int8 = 0;
        var storages = new HashSet<Storage>(ReferenceEqualityComparer.Instance);
        var quantized = new HashSet<Q8Matrix>(ReferenceEqualityComparer.Instance);
        foreach (var t in weights.Values.Concat(LinearWeights().Select(w => w.W)))
        {
            if (t.Quantized is { } q && quantized.Add(q)) int8 += q.StoredBytes;
            if (!storages.Add(t.Storage)) continue;
            switch (t.Storage)
            {
                case MappedStorage m: mapped += m.ByteLength; break;
                case DequantizedStorage d when !d.IsMaterialized: notMade += d.ByteLength; break;
                default: inMemory += t.Storage.ByteLength; break;
            }
        }
        return new WeightMemory(inMemory, mapped, int8, notMade);
    }

    /// <summary>The weights Linear products read (the LM head, or the tied embedding, then each layer's), with names for messages.</summary>
    internal List<(Tensor W, string Name)> LinearWeights()
    {
        var head = WeightLayout.LmHeadName(Config) is { } headName ? W(headName) : W(WeightLayout.EmbedName(Config));
        var linear = new List<(Tensor W, string Name)> { (head, head.Name ?? "lm_head") };
        for (int i = 0; i < layers.Length; i++)
        {
            var lw = layers[i];
            foreach (var (w, part) in new[] { (lw.Q, "q"), (lw.K, "k"), (lw.V, "v"), (lw.O, "o"), (lw.Up, "up"), (lw.Down, "down"), (lw.Gate, "gate") })
                if (w is not null) linear.Add((w, w.Name ?? $"layer {i} {part} projection"));
        }
        return linear;
    }

    public void Dispose()
    {
        foreach (var o in owned) o.Dispose();
        owned.Clear();
    }
}
