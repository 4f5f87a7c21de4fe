// Key Space Detection [S1 §1.2]: the key vectors (mlp.coeff, the input of down_proj) of a skill's
// probe texts, taken at the last token, fill a region of key space; an axis-aligned box around
// them detects queries of that skill.
//   HypercubeFit: per dimension d, μ_d and σ_d (sample std, ddof 1) over the probe vectors, and
//   k* = max over probe vectors v and dimensions d of |v_d − μ_d| / σ_d — the smallest k whose box
//   μ ± k·σ holds every probe vector (closed form; [S1]'s code bisects for it to 1e-5).
//   Detection box: μ ± α·k*·σ. A vector is inside when every dimension is. A dimension with σ_d = 0
//   (all probes equal there) admits only v_d = μ_d.
// KeySpaceDetector holds one box per layer; with several layers a vector set is flagged when it is
// inside all boxes (Combine.All) or any box (Combine.Any). Pooling says which vector is tested at a
// position: the key there ([S1]) or the running mean of the keys so far (beyond [S1]; KeyPooling.cs). All arithmetic is double; the test
// computes |v − μ|/σ exactly as k* is computed, so at α = 1 every probe vector is inside.
using Lethe.Models.Generation;

namespace Lethe.Unlearning;

public sealed class HypercubeFit
{
    public HypercubeFit(double[] mean, double[] std, double kStar)
    {
        if (mean.Length != std.Length) throw new ShapeMismatchException("HypercubeFit", $"mean has {mean.Length} dimensions but std {std.Length}");
        if (!(kStar >= 0) || double.IsInfinity(kStar)) throw new LetheException($"HypercubeFit: k* must be a finite non-negative number, got {kStar}");
        Mean = mean; Std = std; KStar = kStar;
    }

    public double[] Mean { get; }
    public double[] Std { get; }
    public double KStar { get; }
    public int Width => Mean.Length;

    /// <summary>Fits μ, σ (ddof 1) and k* to probe vectors (at least two, all of one width).</summary>
    public static HypercubeFit Fit(IReadOnlyList<float[]> vectors)
    {
        if (vectors.Count < 2) throw new LetheException($"Key Space Detection needs at least 2 forget probe texts to estimate a standard deviation, got {vectors.Count}");
        int width = vectors[0].Length;
        var moments = new Statistics.RunningMoments(width);
        foreach (var v in vectors)
        {
            if (v.Length != width) throw new ShapeMismatchException("HypercubeFit.Fit", $"a key vector has {v.Length} dimensions, the first has {width}");
            moments.AddRows(v);
        }
        var mean = moments.Mean.ToArray();
        var std = moments.StandardDeviation(ddof: 1);
        var partial = new HypercubeFit(mean, std, 0);
        double k = 0;
        foreach (var v in vectors) k = Math.Max(k, partial.Score(v));
        return new HypercubeFit(mean, std, k);
    }

    /// <summary>max_d |v_d − μ_d| / σ_d: the smallest k whose box μ ± k·σ holds v (+∞ when v leaves a zero-width dimension).</summary>
    public double Score(ReadOnlySpan<float> v)
    {
        if (v.Length != Width) throw new ShapeMismatchException("HypercubeFit.Score", $"vector has {v.Length} dimensions, the box {Width}");
        double worst = 0;
        for (int d = 0; d < v.Length; d++)
        {
            double dev = Math.Abs(v[d] - Mean[d]);
            double z = Std[d] > 0 ? dev / Std[d] : dev == 0 ? 0 : double.PositiveInfinity;
            if (z > worst) worst = z;
        }
        return worst;
    }

    /// <summary>The box's score in units of k*: the smallest α whose box μ ± α·k*·σ holds v.</summary>
    public double RelativeScore(ReadOnlySpan<float> v)
    {
        double s = Score(v);
        return KStar > 0 ? s / KStar : s == 0 ? 0 : double.PositiveInfinity;
    }

    public bool Contains(ReadOnlySpan<float> v, double alpha) => Score(v) <= alpha * KStar;
}

public enum BoxCombine { All, Any }

public sealed class KeySpaceDetector : IAdapterPayload
{
    public KeySpaceDetector(IReadOnlyDictionary<int, HypercubeFit> boxes, double alpha, BoxCombine combine = BoxCombine.All, string refusal = InferenceIntervention.DefaultRefusal,
        KeyPooling pooling = KeyPooling.Last)
    {
        if (boxes.Count == 0) throw new LetheException("KeySpaceDetector needs at least one layer's box");
        if (!(alpha >= 0) || double.IsInfinity(alpha)) throw LetheException.About($"alpha must be a finite number ≥ 0, got {alpha}", "alpha");
        Boxes = boxes.OrderBy(kv => kv.Key).ToDictionary(kv => kv.Key, kv => kv.Value);
        Alpha = alpha; Combine = combine; Refusal = refusal; Pooling = pooling;
    }

    /// <summary>Box per layer, in layer order.</summary>
    public IReadOnlyDictionary<int, HypercubeFit> Boxes { get; }
    public double Alpha { get; }
    public BoxCombine Combine { get; }
    public string Refusal { get; }
    /// <summary>The vector tested at a position: the key there ([S1]) or the mean of the keys so far (beyond [S1]).</summary>
    public KeyPooling Pooling { get; }
    public IEnumerable<int> Layers => Boxes.Keys;

    /// <summary>
    /// Combined relative score of one query's key vectors (layer → vector): the smallest α at which it
    /// is flagged (max over layers for All, min for Any).
    /// </summary>
    public static double CombinedScore(IReadOnlyDictionary<int, HypercubeFit> boxes, BoxCombine combine, Func<int, float[]> keyOf)
    {
        double result = combine == BoxCombine.All ? 0 : double.PositiveInfinity;
        foreach (var (layer, box) in boxes)
        {
            double s = box.RelativeScore(keyOf(layer));
            result = combine == BoxCombine.All ? Math.Max(result, s) : Math.Min(result, s);
        }
        return result;
    }

    /// <summary>Whether a query with these key vectors (layer → vector) is detected.</summary>
    public bool Detects(Func<int, float[]> keyOf)
    {
        bool any = false, all = true;
        foreach (var (layer, box) in Boxes)
        {
            bool inside = box.Contains(keyOf(layer), Alpha);
            any |= inside; all &= inside;
        }
        return Combine == BoxCombine.All ? all : any;
    }

    public InferenceIntervention CreateIntervention(Models.TransformerModel model) => new KeySpaceIntervention(this, model.Config);

    /// <summary>The detector draws nothing at random: the seed is ignored.</summary>
    InferenceIntervention IAdapterPayload.CreateIntervention(Models.TransformerModel model, ulong? seed) => CreateIntervention(model);
}

/// <summary>
/// Key Space Detection at inference: a read-only hook at blocks.{ℓ}.mlp.coeff of every box layer
/// tests the newest position of each row of the pass (row r·T + T − 1 of [R·T, d_ff]; left-padded
/// prompts end there, and a decoding step has T = 1). With KeyPooling.Mean it first adds the row's
/// real positions of the pass (not its padding) to the sequence's running key — kept in the
/// sequence's SequenceState, so a decoding step adds its one token to the prompt's total — and
/// tests the running mean instead. After the highest box layer the per-layer
/// results are combined and a hit is recorded for the row's sequence until the next Begin. Only
/// unfinished sequences take part in a generation pass, so a hit always belongs to a token the
/// sequence itself produced or was given.
/// </summary>
internal sealed class KeySpaceIntervention : InferenceIntervention
{
    private readonly KeySpaceDetector detector;
    private readonly int[] layers;
    private readonly int lastLayer;
    private readonly Dictionary<int, bool[]> inside = new();
    private bool[] hit = new bool[1];
    // Per layer, this intervention's slot in each sequence's state (the running key).
    private readonly Dictionary<int, object> slot;

    public KeySpaceIntervention(KeySpaceDetector detector, Models.ModelConfig config)
    {
        foreach (var (layer, box) in detector.Boxes)
            if (layer < 0 || layer >= config.NumLayers || box.Width != config.IntermediateSize)
                throw new LetheException($"Key Space Detection: the box of layer {layer} ({box.Width} dimensions) does not fit {config.SourcePath} ({config.NumLayers} layers, d_ff {config.IntermediateSize})");
        this.detector = detector;
        layers = detector.Layers.ToArray();
        lastLayer = layers.Max();
        slot = layers.ToDictionary(l => l, _ => new object());
    }

    /// <summary>Row r's running key on a layer after adding its real positions of this pass (a fresh one when the pass keeps no states).</summary>
    private RunningKey Pooled(int layer, PassLayout layout, int r, ReadOnlySpan<float> data, int width)
    {
        var run = layout.States is { } states ? states[r].Get(slot[layer], () => new RunningKey(width)) : new RunningKey(width);
        int T = layout.Length;
        for (int t = 0; t < T; t++)
            if (layout.Position(r, t) >= 0) run.Add(data.Slice((r * T + t) * width, width));
        return run;
    }

    public override bool CanAbstain => true;
    public override string Refusal => detector.Refusal;

    public override void Begin(int sequences)
    {
        base.Begin(sequences);
        hit = new bool[sequences];
    }

    public override bool Flagged(int sequence) => (uint)sequence < (uint)hit.Length && hit[sequence];

    protected internal override void Register(Models.HookSet hooks)
    {
        foreach (int layer in layers)
        {
            var box = detector.Boxes[layer];
            hooks.Add(Models.HookNames.Block(layer, "mlp.coeff"), (name, x) =>
            {
                var layout = LayoutFor(name, x.Dim(0));
                int R = layout.Rows, T = layout.Length, width = x.Dim(1);
                var data = x.AsReadOnlySpan();
                if (!inside.TryGetValue(layer, out var flags) || flags.Length < R) inside[layer] = flags = new bool[Math.Max(R, 8)];
                for (int r = 0; r < R; r++)
                    if (detector.Pooling == KeyPooling.Last) flags[r] = box.Contains(data.Slice((r * T + T - 1) * width, width), detector.Alpha);
                    else flags[r] = Pooled(layer, layout, r, data, width) is { Count: > 0 } run && box.Contains(run.Mean(), detector.Alpha);
                if (layer == lastLayer)
                    for (int r = 0; r < R; r++)
                    {
                        bool all = true, any = false;
                        foreach (int l in layers) { all &= inside[l][r]; any |= inside[l][r]; }
                        if (detector.Combine == BoxCombine.All ? all : any) hit[layout.Sequences[r]] = true;
                    }
                return null;
            });
        }
    }
}
