// Gradient Difference with a KL retain term: L = −NLL(forget) + λ·KL(π_ref ‖ π_θ) on retain data,
// averaged over answer positions (OpenUnlearning's retain_loss_type KL; see UnlearnLosses).
using Lethe.Tensors.Ops;

namespace Lethe.Unlearning.Training.Methods;

public sealed class GradDiffKl : FineTuningMethod
{
    public override string Name => "graddiff-kl";
    public override string Summary => "gradient difference with a KL-to-reference retain term: L = −NLL(forget) + λ·KL(π_ref‖π_θ; retain)";
    protected override IEnumerable<MethodParameter> OwnParameters => new[] { Number("retain_weight", 1.0, "λ, the weight of the retain KL") };

    public override IUnlearningObjective Begin(UnlearnContext c) => new Objective(_ =>
    {
        var batch = c.Forget[0].Next();
        var nll = UnlearnLosses.Nll(UnlearnLosses.Logits(c.Trained, batch), batch);
        var retain = c.Retain!.Next();
        var kl = UnlearnLosses.KlToReference(UnlearnLosses.Logits(c.Trained, retain), c.Reference, retain);
        var total = Op.Add(Op.Scale(nll, -1f), Op.Scale(kl, (float)c.Settings.Number("retain_weight")));
        return new LossTerms(total, new Dictionary<string, double> { ["forget_nll"] = Value(nll), ["retain_kl"] = Value(kl) });
    });
}
