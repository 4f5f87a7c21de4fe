// What the fine-tuning unlearning methods of [S2] share (docs/methods.md §2.1): full-parameter
// training by default, AdamW with weight decay 0.01, clipping at norm 1, one pooled forget set, and
// an optional retain term weighted by retain_weight. A method adds its own parameters and loss.
using System.Globalization;
using Lethe.Models;
using Lethe.Models.Training;
using Lethe.Tensors;

namespace Lethe.Unlearning.Training;

public abstract class FineTuningMethod : ITrainingMethod
{
    public abstract string Name { get; }
    public abstract string Summary { get; }
    public MethodKind Kind => MethodKind.WeightEditing;

    /// <summary>[S2]: lr 2e-5…5e-5, effective batch 32 on 7 B models; the demo preset suits the 7 M demo model.</summary>
    protected static readonly TrainingParameters.Defaults FineTuneDefaults = new(Steps: 60, Lr: 2e-5, Batch: 4, MaxTokens: 512, WeightDecay: 0.01, AdamEps: 1e-8, Clip: 1.0)
    {
        Zephyr = new Dictionary<string, string> { ["batch_size"] = "32", ["lr"] = "2e-5" },
        Demo = new Dictionary<string, string> { ["lr"] = "1e-4", ["steps"] = "40", ["batch_size"] = "8", ["max_tokens"] = "128" },
    };

    protected abstract IEnumerable<MethodParameter> OwnParameters { get; }

    public IReadOnlyList<MethodParameter> Parameters => TrainingParameters.For(FineTuneDefaults).Concat(OwnParameters).ToList();

    protected static MethodParameter Number(string name, double value, string help) => new(name, value.ToString(CultureInfo.InvariantCulture), help);

    public virtual bool NeedsRetain(MethodSettings settings) => settings.Number("retain_weight") != 0;
    public bool ForgetDomains => false;
    public virtual bool NeedsRefusals => false;
    public int? LastLayer(ModelConfig config, MethodSettings settings) => null;

    public IReadOnlyList<string> DefaultTrainable(ModelConfig config, MethodSettings settings) =>
        WeightLayout.Expected(config).Select(w => w.name).ToList();

    public abstract IUnlearningObjective Begin(UnlearnContext context);

    /// <summary>λ·NLL(retain) when λ ≠ 0 (added to terms as "retain_nll"), else null.</summary>
    protected static Tensor? RetainNll(UnlearnContext c, Dictionary<string, double> terms)
    {
        double lambda = c.Settings.Number("retain_weight");
        if (lambda == 0) return null;
        var batch = c.Retain!.Next();
        var nll = UnlearnLosses.Nll(UnlearnLosses.Logits(c.Trained, batch), batch);
        terms["retain_nll"] = nll.AsReadOnlySpan()[0];
        return Tensors.Ops.Op.Scale(nll, (float)lambda);
    }

    protected static Tensor Plus(Tensor a, Tensor? b) => b is null ? a : Tensors.Ops.Op.Add(a, b);

    /// <summary>An objective from a function of the step.</summary>
    protected sealed class Objective(Func<long, LossTerms> loss) : IUnlearningObjective
    {
        public LossTerms Loss(long step) => loss(step);
    }

    protected static float Value(Tensor t) => t.AsReadOnlySpan()[0];
}
