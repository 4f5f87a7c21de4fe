// NPO (Zhang et al. 2024): L = (2/β)·mean log(1 + (π_θ(y_f)/π_ref(y_f))^β) + λ·NLL(retain), β = 0.1,
// λ = 0 by default (NPO alone; λ > 0 is NPO+RT). log π summed over answer tokens.
using Lethe.Tensors.Ops;

namespace Lethe.Unlearning.Training.Methods;

public sealed class Npo : FineTuningMethod
{
    public override string Name => "npo";
    public override string Summary => "negative preference optimisation: L = (2/β)·E[softplus(β·log(π_θ/π_ref)(forget))] (+ λ·NLL(retain))";
    protected override IEnumerable<MethodParameter> OwnParameters => new[]
    {
        Number("beta", 0.1, "β, the inverse temperature"),
        Number("retain_weight", 0, "λ, the weight of an optional retain NLL term"),
    };

    public override IUnlearningObjective Begin(UnlearnContext c) => new Objective(_ =>
    {
        var terms = new Dictionary<string, double>();
        var batch = c.Forget[0].Next();
        var reference = UnlearnLosses.ReferenceLogProb(c.Reference, batch);
        var logits = UnlearnLosses.Logits(c.Trained, batch);
        var npo = UnlearnLosses.Npo(UnlearnLosses.SequenceLogProb(logits, batch), reference, c.Settings.Number("beta"));
        terms["npo"] = Value(npo);
        terms["forget_nll"] = Value(UnlearnLosses.NoGradNll(logits, batch));
        return new LossTerms(Plus(npo, RetainNll(c, terms)), terms);
    });
}
