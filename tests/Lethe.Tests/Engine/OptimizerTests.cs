using System.Text.Json;
using Lethe.Tensors;
using Lethe.Tensors.Optim;
using Xunit;

namespace Lethe.Tests.Engine;

public class OptimizerTests
{
    // Trajectories recorded from torch.optim by tools/reference/optim_reference.py.
    private static Dictionary<string, float[]> LoadFixture(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "optim", name + ".json")));
        return doc.RootElement.GetProperty("tensors").EnumerateObject().ToDictionary(
            p => p.Name, p => p.Value.GetProperty("data").EnumerateArray().Select(x => (float)x.GetDouble()).ToArray());
    }

    private static Tensor[] InitialParams(Dictionary<string, float[]> f) => new[]
    {
        Tensor.FromArray(f["p0.init"], 3, 5), Tensor.FromArray(f["p1.init"], 7),
    };

    private static void Replay(string name, Func<Tensor[], Optimizer> make, double? clip = null)
    {
        var f = LoadFixture(name);
        var ps = InitialParams(f);
        foreach (var p in ps) p.RequiresGrad = true;
        var opt = make(ps);
        for (int s = 0; s < 4; s++)
        {
            for (int i = 0; i < ps.Length; i++)
            {
                ps[i].Grad ??= Tensor.ZerosPersistent(ps[i].Shape);
                ps[i].Grad!.CopyFrom(f[$"p{i}.grad.{s}"]);
            }
            if (clip is double c)
            {
                double norm = GradientClipping.ClipByGlobalNorm(ps, c);
                Assert.Equal(f[$"norm.{s}"][0], norm, 4);
            }
            opt.Step();
            for (int i = 0; i < ps.Length; i++)
                GradCheck.Close(f[$"p{i}.after.{s}"], ps[i].AsReadOnlySpan(), 1e-5, $"{name} p{i} after step {s}");
        }
    }

    [Fact] public void AdamWWithRmuSettingsMatchesTorch() =>
        Replay("adamw_rmu", ps => new AdamW(ps, new AdamWOptions { LearningRate = 5e-2f, Eps = 1e-6f, WeightDecay = 0 }));

    [Fact] public void AdamWWithDecayAndBetasMatchesTorch() =>
        Replay("adamw_decay", ps => new AdamW(ps, new AdamWOptions { LearningRate = 1e-2f, Beta1 = 0.8f, Beta2 = 0.95f, Eps = 1e-8f, WeightDecay = 0.01f }));

    [Fact] public void SgdWithMomentumMatchesTorch() =>
        Replay("sgd_momentum", ps => new Sgd(ps, 0.1f, momentum: 0.9f, weightDecay: 0.01f));

    [Fact] public void ClippingByGlobalNormMatchesTorch() =>
        Replay("adamw_clipped", ps => new AdamW(ps, new AdamWOptions { LearningRate = 1e-2f }), clip: 1.0);

    /// <summary>
    /// AdamW's vector loops (8 lanes on AVX2, 4 on NEON) and its scalar tail do the same float
    /// operations per element, so every element of a parameter whose length leaves tails of both
    /// gets the bits of the update written out here one element at a time.
    /// </summary>
    [Fact]
    public void AdamWVectorLanesGiveTheScalarUpdatesBits()
    {
        const int n = 8 * 64 + 4 + 3;
        var rng = new Rng(5);
        float[] init = new float[n], grad = new float[n];
        for (int i = 0; i < n; i++) { init[i] = (float)rng.NextGaussian(); grad[i] = (float)rng.NextGaussian() * 0.1f; }
        var p = Tensor.FromArray((float[])init.Clone(), n);
        p.RequiresGrad = true;
        p.Grad = Tensor.FromArray(grad, n);
        var options = new AdamWOptions { LearningRate = 1e-2f, WeightDecay = 0.1f };
        var opt = new AdamW(new[] { p }, options);
        opt.Step();
        opt.Step();
        float[] want = (float[])init.Clone(), m = new float[n], v = new float[n];
        for (int step = 1; step <= 2; step++)
        {
            float b1 = options.Beta1, b2 = options.Beta2, decay = 1f - options.LearningRate * options.WeightDecay;
            float stepSize = (float)(options.LearningRate / (1 - Math.Pow(b1, step))), invSqrtBc2 = (float)(1 / Math.Sqrt(1 - Math.Pow(b2, step)));
            for (int i = 0; i < n; i++)
            {
                m[i] = b1 * m[i] + (1 - b1) * grad[i];
                v[i] = b2 * v[i] + (1 - b2) * grad[i] * grad[i];
                want[i] = want[i] * decay - stepSize * m[i] / (MathF.Sqrt(v[i]) * invSqrtBc2 + options.Eps);
            }
        }
        var got = p.AsReadOnlySpan().ToArray();
        for (int i = 0; i < n; i++) Assert.True(BitConverter.SingleToInt32Bits(want[i]) == BitConverter.SingleToInt32Bits(got[i]), $"element {i}: {got[i]:R}, the scalar update {want[i]:R}");
    }

    [Fact]
    public void OnlyParametersThatRequireGradGetState()
    {
        var trained = Tensor.Zeros(4); trained.RequiresGrad = true;
        var frozen = Tensor.Zeros(4);
        var opt = new AdamW(new[] { trained, frozen });
        Assert.Single(opt.Parameters);
        trained.Grad = Tensor.Full(new[] { 4 }, 1f);
        opt.Step();
        Assert.Equal(2, opt.GetState().Tensors.Count);
        Assert.Throws<LetheException>(() => new AdamW(new[] { frozen }));
    }

    [Fact]
    public void StateRoundTripResumesExactly()
    {
        // Two optimizers: one runs 6 steps; the other runs 3, is rebuilt from saved state, runs 3 more.
        float[] grads(int s) => Enumerable.Range(0, 6).Select(i => MathF.Sin(s * 7 + i)).ToArray();
        Tensor P() { var p = Tensor.FromArray(new float[] { 1, -2, 3, 0.5f, 0, 4 }, 6); p.RequiresGrad = true; p.Grad = Tensor.ZerosPersistent(p.Shape); return p; }
        var a = P(); var optA = new AdamW(new[] { a });
        for (int s = 0; s < 6; s++) { a.Grad!.CopyFrom(grads(s)); optA.Step(); }
        var b = P(); var optB = new AdamW(new[] { b });
        for (int s = 0; s < 3; s++) { b.Grad!.CopyFrom(grads(s)); optB.Step(); }
        var saved = optB.GetState();
        var b2 = P(); b2.CopyFrom(b);
        var optB2 = new AdamW(new[] { b2 });
        optB2.SetState(saved);
        for (int s = 3; s < 6; s++) { b2.Grad!.CopyFrom(grads(s)); optB2.Step(); }
        Assert.Equal(a.ToArray(), b2.ToArray());
    }

    [Fact]
    public void SchedulesFollowTheirShapes()
    {
        var cos = new CosineSchedule(1f, Warmup: 10, TotalSteps: 110);
        Assert.Equal(0f, cos.At(0));
        Assert.Equal(0.5f, cos.At(5), 6);
        Assert.Equal(1f, cos.At(10), 6);
        Assert.Equal(0.5f, cos.At(60), 5);
        Assert.Equal(0f, cos.At(110), 6);
        var lin = new LinearSchedule(2f, 0, 100);
        Assert.Equal(2f, lin.At(0)); Assert.Equal(1f, lin.At(50), 6); Assert.Equal(0f, lin.At(100));
        Assert.Equal(3f, new ConstantSchedule(3f).At(1000));
        Assert.Throws<LetheException>(() => LearningRateSchedule.Parse("exponential", 1, 0, 10));
    }
}
