// AdamW (Loshchilov & Hutter) with decoupled weight decay, as torch.optim.AdamW computes it:
//   p ← p − lr·λ·p;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//   p ← p − lr · (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + ε)
// State (m, v) exists only for trained parameters and is allocated on the first step.
// RMU uses ε = 1e-6 and λ = 0, the fine-tuning methods λ = 0.01.
using System.Numerics;
using System.Runtime.Intrinsics;

namespace Lethe.Tensors.Optim;

public sealed record AdamWOptions
{
    public float LearningRate { get; init; } = 1e-3f;
    public float Beta1 { get; init; } = 0.9f;
    public float Beta2 { get; init; } = 0.999f;
    public float Eps { get; init; } = 1e-8f;
    public float WeightDecay { get; init; } = 0.01f;
}

public sealed unsafe class AdamW : Optimizer
{
    private readonly AdamWOptions options;
    private readonly Tensor?[] m, v;

    public AdamW(IEnumerable<Tensor> parameters, AdamWOptions? options = null)
        : base(parameters, (options ?? new AdamWOptions()).LearningRate)
    {
        this.options = options ?? new AdamWOptions();
        if (this.options.Beta1 is < 0 or >= 1 || this.options.Beta2 is < 0 or >= 1)
            throw new LetheException($"AdamW betas must lie in [0, 1), got ({this.options.Beta1}, {this.options.Beta2})");
        if (this.options.Eps <= 0) throw new LetheException($"AdamW eps must be positive, got {this.options.Eps}");
        m = new Tensor?[Parameters.Count];
        v = new Tensor?[Parameters.Count];
    }

    public AdamWOptions Options => options;

    public override void Step()
    {
        StepCount++;
        float lr = LearningRate, b1 = options.Beta1, b2 = options.Beta2, eps = options.Eps;
        float decay = 1f - lr * options.WeightDecay;
        // Bias corrections folded into the step size and the denominator, as PyTorch does.
        double bc1 = 1 - Math.Pow(b1, StepCount), bc2 = 1 - Math.Pow(b2, StepCount);
        float stepSize = (float)(lr / bc1);
        float invSqrtBc2 = (float)(1 / Math.Sqrt(bc2));
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (p.Grad is null) continue;
            m[i] ??= Tensor.ZerosPersistent(p.Shape, pooled: true);
            v[i] ??= Tensor.ZerosPersistent(p.Shape, pooled: true);
            float* pp = p.F32Ptr, gp = p.Grad.F32Ptr, mp = m[i]!.F32Ptr, vp = v[i]!.F32Ptr;
            int n = checked((int)p.Length);
            Engine.For(n, 1 << 16, (start, end) => Update(pp, gp, mp, vp, start, end, decay, b1, b2, eps, stepSize, invSqrtBc2));
        }
    }

    // One element's update depends only on its own values, so any split gives identical bits.
    private static void Update(float* p, float* g, float* m, float* v, int start, int end,
        float decay, float b1, float b2, float eps, float stepSize, float invSqrtBc2)
    {
        int i = start;
        if (Vector256.IsHardwareAccelerated)
        {
            var vb1 = Vector256.Create(b1); var vb1c = Vector256.Create(1 - b1);
            var vb2 = Vector256.Create(b2); var vb2c = Vector256.Create(1 - b2);
            var vdecay = Vector256.Create(decay); var veps = Vector256.Create(eps);
            var vstep = Vector256.Create(stepSize); var vbc2 = Vector256.Create(invSqrtBc2);
            for (; i + 8 <= end; i += 8)
            {
                var gi = Vector256.Load(g + i);
                var mi = vb1 * Vector256.Load(m + i) + vb1c * gi;
                var vi = vb2 * Vector256.Load(v + i) + vb2c * gi * gi;
                mi.Store(m + i); vi.Store(v + i);
                var denom = Vector256.Sqrt(vi) * vbc2 + veps;
                (Vector256.Load(p + i) * vdecay - vstep * mi / denom).Store(p + i);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            // The same on 4 lanes: 64-bit ARM (NEON), where Vector256 is not hardware.
            var vb1 = Vector128.Create(b1); var vb1c = Vector128.Create(1 - b1);
            var vb2 = Vector128.Create(b2); var vb2c = Vector128.Create(1 - b2);
            var vdecay = Vector128.Create(decay); var veps = Vector128.Create(eps);
            var vstep = Vector128.Create(stepSize); var vbc2 = Vector128.Create(invSqrtBc2);
            for (; i + 4 <= end; i += 4)
            {
                var gi = Vector128.Load(g + i);
                var mi = vb1 * Vector128.Load(m + i) + vb1c * gi;
                var vi = vb2 * Vector128.Load(v + i) + vb2c * gi * gi;
                mi.Store(m + i); vi.Store(v + i);
                var denom = Vector128.Sqrt(vi) * vbc2 + veps;
                (Vector128.Load(p + i) * vdecay - vstep * mi / denom).Store(p + i);
            }
        }
        for (; i < end; i++)
        {
            float gi = g[i];
            float mi = b1 * m[i] + (1 - b1) * gi;
            float vi = b2 * v[i] + (1 - b2) * gi * gi;
            m[i] = mi; v[i] = vi;
            float denom = MathF.Sqrt(vi) * invSqrtBc2 + eps;
            p[i] = p[i] * decay - stepSize * mi / denom;
        }
    }

    public override OptimizerState GetState()
    {
        var s = new OptimizerState { Kind = "adamw" };
        s.Scalars["step"] = StepCount;
        for (int i = 0; i < Parameters.Count; i++)
        {
            if (m[i] is { } mi) s.Tensors[$"exp_avg.{i}"] = mi;
            if (v[i] is { } vi) s.Tensors[$"exp_avg_sq.{i}"] = vi;
        }
        return s;
    }

    public override void SetState(OptimizerState state)
    {
        if (state.Kind != "adamw") throw new LetheException($"optimizer state is for '{state.Kind}', not adamw");
        StepCount = (long)state.Scalars.GetValueOrDefault("step");
        for (int i = 0; i < Parameters.Count; i++)
        {
            m[i] = Restore(state, $"exp_avg.{i}", i);
            v[i] = Restore(state, $"exp_avg_sq.{i}", i);
        }
    }

    private Tensor? Restore(OptimizerState state, string key, int i)
    {
        if (!state.Tensors.TryGetValue(key, out var t)) return null;
        var p = Parameters[i];
        if (!Shape.Equal(t.Shape, p.Shape))
            throw ShapeMismatchException.Of("AdamW.SetState", $"saved '{key}'", t.Shape, Describe(p, i), p.Shape);
        var copy = Tensor.ZerosPersistent(p.Shape, pooled: true);
        copy.CopyFrom(t);
        return copy;
    }
}
