// Gradient Ascent (GA): L = −NLL(forget) (docs/methods.md §2.1). No retain term.
using Lethe.Tensors.Ops;

namespace Lethe.Unlearning.Training.Methods;

public sealed class GradientAscent : FineTuningMethod
{
    public override string Name => "ga";
    public override string Summary => "gradient ascent on the forget set: L = −NLL(forget)";
    protected override IEnumerable<MethodParameter> OwnParameters => Array.Empty<MethodParameter>();
    public override bool NeedsRetain(MethodSettings settings) => false;

    public override IUnlearningObjective Begin(UnlearnContext c) => new Objective(_ =>
    {
        var batch = c.Forget[0].Next();
        var nll = UnlearnLosses.Nll(UnlearnLosses.Logits(c.Trained, batch), batch);
        return new LossTerms(Op.Scale(nll, -1f), new Dictionary<string, double> { ["forget_nll"] = Value(nll) });
    });
}
