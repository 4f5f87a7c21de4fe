// SimNPO (Fan et al. 2024): reference-free and length-normalised,
//   L = −(2/β)·mean log σ(β·NLL(y_f)/|y_f| − γ)·w_f + λ·NLL(retain).
// Defaults from OpenUnlearning's SimNPO config: β = 4.5, γ = 0, forget weight 0.125, λ = 1.
using Lethe.Tensors.Ops;

namespace Lethe.Unlearning.Training.Methods;

public sealed class SimNpo : FineTuningMethod
{
    public override string Name => "simnpo";
    public override string Summary => "SimNPO: L = −(2/β)·E[log σ(β·NLL(forget)/|y| − γ)]·w + λ·NLL(retain), no reference model";
    protected override IEnumerable<MethodParameter> OwnParameters => new[]
    {
        Number("beta", 4.5, "β, the inverse temperature"),
        Number("gamma", 0, "γ, the reward margin"),
        Number("forget_weight", 0.125, "w, the weight of the forget term"),
        Number("retain_weight", 1, "λ, the weight of the retain NLL"),
    };

    public override IUnlearningObjective Begin(UnlearnContext c) => new Objective(_ =>
    {
        var terms = new Dictionary<string, double>();
        var batch = c.Forget[0].Next();
        var logits = UnlearnLosses.Logits(c.Trained, batch);
        var simnpo = UnlearnLosses.SimNpo(UnlearnLosses.SequenceLogProb(logits, batch), UnlearnLosses.AnswerLengths(batch), c.Settings.Number("beta"), c.Settings.Number("gamma"));
        terms["simnpo"] = Value(simnpo);
        terms["forget_nll"] = Value(UnlearnLosses.NoGradNll(logits, batch));
        return new LossTerms(Plus(Op.Scale(simnpo, (float)c.Settings.Number("forget_weight")), RetainNll(c, terms)), terms);
    });
}
