// Stochastic gradient descent as torch.optim.SGD: optional momentum (buffer b ← μ·b + g, with
// b = g on the first step) and L2 weight decay added to the gradient (g ← g + λ·p).
namespace Lethe.Tensors.Optim;

public sealed unsafe class Sgd : Optimizer
{
    private readonly float momentum, weightDecay;
    private readonly Tensor?[] buffers;

    public Sgd(IEnumerable<Tensor> parameters, float learningRate, float momentum = 0f, float weightDecay = 0f)
        : base(parameters, learningRate)
    {
        if (momentum < 0) throw new LetheException($"SGD momentum must be ≥ 0, got {momentum}");
        this.momentum = momentum; this.weightDecay = weightDecay;
        buffers = new Tensor?[Parameters.Count];
    }

    public override void Step()
    {
        StepCount++;
        float lr = LearningRate;
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (p.Grad is null) continue;
            float* pp = p.F32Ptr, gp = p.Grad.F32Ptr;
            long n = p.Length;
            float* bp = null;
            bool first = false;
            if (momentum != 0)
            {
                first = buffers[i] is null;
                buffers[i] ??= Tensor.ZerosPersistent(p.Shape, pooled: true);
                bp = buffers[i]!.F32Ptr;
            }
            for (long k = 0; k < n; k++)
            {
                float g = gp[k] + weightDecay * pp[k];
                if (bp != null) { bp[k] = first ? g : momentum * bp[k] + g; g = bp[k]; }
                pp[k] -= lr * g;
            }
        }
    }

    public override OptimizerState GetState()
    {
        var s = new OptimizerState { Kind = "sgd" };
        s.Scalars["step"] = StepCount;
        for (int i = 0; i < Parameters.Count; i++) if (buffers[i] is { } b) s.Tensors[$"momentum_buffer.{i}"] = b;
        return s;
    }

    public override void SetState(OptimizerState state)
    {
        if (state.Kind != "sgd") throw new LetheException($"optimizer state is for '{state.Kind}', not sgd");
        StepCount = (long)state.Scalars.GetValueOrDefault("step");
        for (int i = 0; i < Parameters.Count; i++)
        {
            if (!state.Tensors.TryGetValue($"momentum_buffer.{i}", out var t)) { buffers[i] = null; continue; }
            if (!Shape.Equal(t.Shape, Parameters[i].Shape)) throw ShapeMismatchException.Of("Sgd.SetState", $"saved momentum_buffer.{i}", t.Shape, Describe(Parameters[i], i), Parameters[i].Shape);
            buffers[i] = Tensor.ZerosPersistent(t.Shape, pooled: true);
            buffers[i]!.CopyFrom(t);
        }
    }
}
