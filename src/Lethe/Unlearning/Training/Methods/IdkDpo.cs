// IdkDPO (TOFU / OpenUnlearning): DPO whose preferred answer to each forget prompt is a refusal
// ("I don't know."-style, one of UnlearnRefusals, chosen by example), rejected = the forget answer;
// plus λ·NLL(retain), λ = 1 as in OpenUnlearning.
using Lethe.Models.Training;

namespace Lethe.Unlearning.Training.Methods;

public sealed class IdkDpo : Dpo
{
    public override string Name => "idkdpo";
    public override string Summary => "DPO with a refusal preferred and the forget answer rejected, plus λ·NLL(retain)";
    protected override double DefaultRetainWeight => 1;
    public override bool NeedsRetain(MethodSettings settings) => settings.Number("retain_weight") != 0;
    public override bool NeedsRefusals => true;
    protected override TrainingBatch Preferred(UnlearnContext c) => c.Refusals!.Next();
}
