// Adaptive RMU (Dang et al., AAAI 2025; docs/methods.md §3.2): RMU whose forget target is
// β·‖h_ref^ℓ(x_f)‖·u instead of a fixed c·u, β = 5. Two readings:
//   per-domain  (the public code) one scalar per domain: β × the mean per-token L2 norm of the
//               frozen model's layer-ℓ output on that domain's first forget batch, then fixed
//               (saved in checkpoints, so a resumed run keeps it);
//   per-sample  (the paper) for each forget sequence, β × the mean per-token norm of that sequence.
// Defaults: β = 5, α = 1200, lr 5e-5, batch 4, 500 steps, ℓ = 7.
using Lethe.Models.Training;
using Lethe.Tensors;

namespace Lethe.Unlearning.Training.Methods;

public sealed class AdaptiveRmu : Rmu
{
    public override string Name => "adaptive-rmu";
    public override string Summary => "Adaptive RMU: steer forget activations to β·‖h_frozen‖·u (per domain or per sample)";
    protected override int DefaultSteps => 500;

    protected override IEnumerable<MethodParameter> OwnParameters => new[]
    {
        new MethodParameter("beta", "5", "β, the target's norm as a multiple of the frozen activation norm"),
        new MethodParameter("adaptive", "per-domain", "per-domain (public code) or per-sample (the paper)", new[] { "per-domain", "per-sample" }),
    };

    protected override float[] Coefficients(RmuObjective run, int domain, TrainingBatch batch, int[] rows)
    {
        double beta = run.Settings.Number("beta");
        bool perSample = run.Settings.Text("adaptive") == "per-sample";
        string key = $"coefficient.{domain}";
        if (!perSample && run.State.TryGetValue(key, out double fixedC)) return Enumerable.Repeat((float)fixedC, rows.Length).ToArray();

        var frozen = UnlearnLosses.FrozenHidden(run.Context.Reference, batch, run.Layer);
        int d = frozen.Dim(1);
        var h = frozen.AsReadOnlySpan();
        var norms = new double[rows.Length];
        for (int i = 0; i < rows.Length; i++) norms[i] = Math.Sqrt(VectorNormSquared(h.Slice(rows[i] * d, d)));
        GC.KeepAlive(frozen);   // read through h until here (its finalizer would free the memory)
        if (!perSample)
        {
            double c = beta * norms.Average();
            run.State[key] = c;
            return Enumerable.Repeat((float)c, rows.Length).ToArray();
        }
        // Per sequence: rows are grouped by sequence (row index / T).
        var result = new float[rows.Length];
        foreach (var group in rows.Select((r, i) => (seq: r / batch.Length, i)).GroupBy(x => x.seq))
        {
            double c = beta * group.Average(x => norms[x.i]);
            foreach (var (_, i) in group) result[i] = (float)c;
        }
        return result;
    }

    private static double VectorNormSquared(ReadOnlySpan<float> v)
    {
        double s = 0;
        foreach (float x in v) s += (double)x * x;
        return s;
    }
}
