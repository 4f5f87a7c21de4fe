// `lanes` suite: each fused kernel (VectorMath's exp inside softmax and cross-entropy, the
// activations, RMSNorm, LayerNorm) with its 16 lanes as one Vector512 (Floats16Wide) against two
// Vector256 halves (Floats16Pair), timed in alternation on the same inputs, one thread. Both give
// the same bits (Floats16Tests); this says which is faster on this CPU. On AVX2 machines Vector512
// is not hardware-accelerated and runs on .NET's software fallback, which is what the kernels ran
// on before the pair layout; on AVX-512 machines the wide layout is native.
// One JSON object per line: {"bench":"lanes","case":..,"wide_us":..,"pair_us":..,"pair_speedup":..,"vector512_accelerated":..,"cpu":..}
using Lethe.Tensors;
using Lethe.Tensors.Kernels;

namespace Lethe.Bench;

public static unsafe class LanesBench
{
    public static int Run(string[] args)
    {
        var o = new BenchOptions(args);
        int reps = o.Int("reps", 41);
        Engine.Threads = 1;
        var rng = new Rng(5);
        var kept = new List<Tensor>(); // referenced until the end, so no buffer is freed while in use
        float* Buffer(int n, double scale)
        {
            var t = Tensor.Randn(new[] { n }, rng);
            kept.Add(t);
            if (scale != 1) for (int i = 0; i < n; i++) t.F32Ptr[i] *= (float)scale;
            return t.F32Ptr;
        }

        void Case(string name, Action wide, Action pair)
        {
            var (tw, tp) = Timing.MedianPair(wide, pair, reps, TimeSpan.Zero);
            JsonLine.Print(("bench", "lanes"), ("case", name), ("wide_us", Math.Round(tw * 1e6, 1)), ("pair_us", Math.Round(tp * 1e6, 1)),
                ("pair_speedup", Math.Round(tw / tp, 2)), ("vector512_accelerated", Floats16.Wide), ("cpu", CpuInfo.Model));
        }

        // Shapes of a SmolLM-135M layer on 512 tokens, as in the `ops` suite.
        const int tokens = 512, hidden = 576, ffn = 1536, vocab = 49152, scores = 9 * 512;
        long act = (long)tokens * ffn;
        float* gate = Buffer((int)act, 3), up = Buffer((int)act, 1), y = Buffer((int)act, 1), dGate = Buffer((int)act, 1), dUp = Buffer((int)act, 1);
        var silu = new ActivationKernel.SiluFn();
        var geluErf = new ActivationKernel.GeluErfFn();
        Case("swiglu 512x1536", () => ActivationKernel.Glu<Floats16Wide, ActivationKernel.SiluFn>(silu, gate, up, y, act),
            () => ActivationKernel.Glu<Floats16Pair, ActivationKernel.SiluFn>(silu, gate, up, y, act));
        Case("swiglu backward 512x1536", () => ActivationKernel.GluBackward<Floats16Wide, ActivationKernel.SiluFn>(silu, gate, up, y, dGate, dUp, act),
            () => ActivationKernel.GluBackward<Floats16Pair, ActivationKernel.SiluFn>(silu, gate, up, y, dGate, dUp, act));
        Case("gelu (erf) 512x1536", () => ActivationKernel.Map<Floats16Wide, ActivationKernel.GeluErfFn>(geluErf, gate, y, act),
            () => ActivationKernel.Map<Floats16Pair, ActivationKernel.GeluErfFn>(geluErf, gate, y, act));

        float* s = Buffer(scores * 512, 3), p = Buffer(scores * 512, 1), dS = Buffer(scores * 512, 1);
        Case("softmax 4608x512", () => SoftmaxKernel.Forward<Floats16Wide>(s, p, scores, 512, false), () => SoftmaxKernel.Forward<Floats16Pair>(s, p, scores, 512, false));
        Case("softmax backward 4608x512", () => SoftmaxKernel.Backward<Floats16Wide>(p, s, dS, scores, 512, false),
            () => SoftmaxKernel.Backward<Floats16Pair>(p, s, dS, scores, 512, false));

        const int ceRows = 64; // 64 rows of the vocabulary: 12.6 MB of logits
        float* logits = Buffer(ceRows * vocab, 3), dLogits = Buffer(ceRows * vocab, 1), stats = Buffer(3 * ceRows, 1);
        var targets = new int[ceRows];
        for (int r = 0; r < ceRows; r++) targets[r] = r * 7919 % vocab;
        fixed (int* t = targets)
        {
            int* tp = t;
            Case("cross-entropy 64x49152", () => CrossEntropyKernel.Forward<Floats16Wide>(logits, ceRows, vocab, tp, -100, stats, stats + ceRows, stats + 2 * ceRows),
                () => CrossEntropyKernel.Forward<Floats16Pair>(logits, ceRows, vocab, tp, -100, stats, stats + ceRows, stats + 2 * ceRows));
            Case("cross-entropy backward 64x49152", () => CrossEntropyKernel.Backward<Floats16Wide>(logits, ceRows, vocab, tp, -100, stats, stats + ceRows, 1e-3f, dLogits),
                () => CrossEntropyKernel.Backward<Floats16Pair>(logits, ceRows, vocab, tp, -100, stats, stats + ceRows, 1e-3f, dLogits));
        }

        float* x = Buffer(tokens * hidden, 1), w = Buffer(hidden, 1), b = Buffer(hidden, 1), h = Buffer(tokens * hidden, 1), dx = Buffer(tokens * hidden, 1);
        float* dw = Buffer(hidden, 1), mean = Buffer(tokens, 1), rstd = Buffer(tokens, 1);
        RmsNormKernel.Forward(x, w, false, 1e-5f, h, rstd, tokens, hidden);
        Case("rmsnorm 512x576", () => RmsNormKernel.Forward<Floats16Wide>(x, w, false, 1e-5f, h, rstd, tokens, hidden),
            () => RmsNormKernel.Forward<Floats16Pair>(x, w, false, 1e-5f, h, rstd, tokens, hidden));
        Case("rmsnorm backward 512x576", () => RmsNormKernel.Backward<Floats16Wide>(x, w, false, rstd, h, dx, dw, tokens, hidden),
            () => RmsNormKernel.Backward<Floats16Pair>(x, w, false, rstd, h, dx, dw, tokens, hidden));
        Case("layernorm 512x576", () => LayerNormKernel.Forward<Floats16Wide>(x, w, b, 1e-5f, h, mean, rstd, tokens, hidden),
            () => LayerNormKernel.Forward<Floats16Pair>(x, w, b, 1e-5f, h, mean, rstd, tokens, hidden));
        foreach (var t in kept) t.Dispose();
        return 0;
    }
}
