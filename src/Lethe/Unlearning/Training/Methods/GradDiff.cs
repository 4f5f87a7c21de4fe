// Gradient Difference: L = −NLL(forget) + λ·NLL(retain), λ = 1.5 as in [S2] (docs/methods.md §2.1).
using Lethe.Tensors.Ops;

namespace Lethe.Unlearning.Training.Methods;

public sealed class GradDiff : FineTuningMethod
{
    public override string Name => "graddiff";
    public override string Summary => "gradient difference: L = −NLL(forget) + λ·NLL(retain)";
    protected override IEnumerable<MethodParameter> OwnParameters => new[] { Number("retain_weight", 1.5, "λ, the weight of the retain NLL") };

    public override IUnlearningObjective Begin(UnlearnContext c) => new Objective(_ =>
    {
        var terms = new Dictionary<string, double>();
        var batch = c.Forget[0].Next();
        var nll = UnlearnLosses.Nll(UnlearnLosses.Logits(c.Trained, batch), batch);
        terms["forget_nll"] = Value(nll);
        return new LossTerms(Plus(Op.Scale(nll, -1f), RetainNll(c, terms)), terms);
    });
}
