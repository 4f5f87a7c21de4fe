// DPO as [S2] uses it for unlearning: the preferred answer is retain text, the rejected one forget
// text, paired batch by batch: L = −(2/β)·mean log σ(β·[(log π_θ(y_r) − log π_θ(y_f)) −
// (log π_ref(y_r) − log π_ref(y_f))]), β = 0.1, plus an optional λ·NLL(retain) (λ = 0 in [S2]).
// IdkDpo (its own file) swaps the preferred answer for a refusal.
using Lethe.Models.Training;
using Lethe.Tensors.Ops;

namespace Lethe.Unlearning.Training.Methods;

public class Dpo : FineTuningMethod
{
    public override string Name => "dpo";
    public override string Summary => "DPO with retain text preferred and forget text rejected ([S2])";
    protected virtual double DefaultRetainWeight => 0;
    protected override IEnumerable<MethodParameter> OwnParameters => new[]
    {
        Number("beta", 0.1, "β, the inverse temperature"),
        Number("retain_weight", DefaultRetainWeight, "λ, the weight of an optional retain NLL term"),
    };

    public override bool NeedsRetain(MethodSettings settings) => true;

    /// <summary>The preferred batch paired with the forget batch just drawn.</summary>
    protected virtual TrainingBatch Preferred(UnlearnContext c) => c.Retain!.Next();

    public override IUnlearningObjective Begin(UnlearnContext c) => new Objective(_ =>
    {
        var terms = new Dictionary<string, double>();
        var lose = c.Forget[0].Next();
        var win = Preferred(c);
        if (win.Batch != lose.Batch) throw new LetheException($"{Name}: preferred and rejected batches differ in size ({win.Batch} vs {lose.Batch})");
        var refWin = UnlearnLosses.ReferenceLogProb(c.Reference, win);
        var refLose = UnlearnLosses.ReferenceLogProb(c.Reference, lose);
        var loseLogits = UnlearnLosses.Logits(c.Trained, lose);
        var dpo = UnlearnLosses.Dpo(UnlearnLosses.SequenceLogProb(UnlearnLosses.Logits(c.Trained, win), win), UnlearnLosses.SequenceLogProb(loseLogits, lose), refWin, refLose, c.Settings.Number("beta"));
        terms["dpo"] = Value(dpo);
        terms["forget_nll"] = Value(UnlearnLosses.NoGradNll(loseLogits, lose));
        return new LossTerms(Plus(dpo, RetainNll(c, terms)), terms);
    });
}
