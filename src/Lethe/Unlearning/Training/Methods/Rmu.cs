// RMU (WMDP, Li et al. 2024; docs/methods.md §3.1). With h = the output of block ℓ (resid_post):
//   L = mean_{forget tokens, d} (h_θ − c·u)² + α·mean_{retain tokens, d} (h_θ − h_ref)²
// u: one fixed random direction per forget domain (each forget file is a domain), entries U[0,1)
// normalised to unit length, seeded; domains alternate step by step. Only down_proj of layers
// ℓ−2…ℓ train by default, and the model runs only up to block ℓ. Published recipe (Zephyr-7B):
// ℓ = 7, c = 6.5, α = 1200, lr 5e-5, eps 1e-6, no weight decay, batch 4, 150 steps.
// The two terms run on separate batches, so the objective yields them as parts (IObjectiveParts):
// the step back-propagates the forget term before the retain passes run, and one pass's
// activations are alive at a time (the memory bound of issue 12; docs/unlearning-training.md).
// AdaptiveRmu (its own file) replaces the fixed c by β times the frozen activation norm.
using System.Globalization;
using Lethe.Models;
using Lethe.Models.Training;
using Lethe.Tensors;
using Lethe.Tensors.Ops;

namespace Lethe.Unlearning.Training.Methods;

public class Rmu : ITrainingMethod
{
    public virtual string Name => "rmu";
    public virtual string Summary => "representation misdirection: steer forget activations at layer ℓ to c·u, keep retain activations";
    public MethodKind Kind => MethodKind.WeightEditing;
    public bool ForgetDomains => true;
    public bool NeedsRefusals => false;
    public bool NeedsRetain(MethodSettings settings) => true;

    protected virtual int DefaultSteps => 150;

    /// <summary>The demo preset: layer 3 of the 8-layer demo model, 40 steps at a rate a 7 M model needs (measured: 20 steps take sensitive cloze 0.74 → 0.44).</summary>
    protected static readonly Dictionary<string, string> DemoTraining = new() { ["steps"] = "40", ["max_tokens"] = "128", ["lr"] = "5e-3" };

    public IReadOnlyList<MethodParameter> Parameters =>
        TrainingParameters.For(new TrainingParameters.Defaults(DefaultSteps, 5e-5, 4, 512, 0, 1e-6, 0) { Demo = DemoTraining })
            .Append(new MethodParameter("layer", "7", "ℓ, the block whose output is steered") { Presets = new Dictionary<string, string> { ["zephyr-7b"] = "7", ["demo"] = "3" } })
            .Append(new MethodParameter("alpha", "1200", "α, the weight of the retain term"))
            .Concat(OwnParameters).ToList();

    protected virtual IEnumerable<MethodParameter> OwnParameters => new[]
    {
        // Demo: [S3]'s reasoning (c must dwarf the activations it replaces), with c ≈ 5 × the mean token norm
        // of the demo model's layer-3 output on the sensitive forget corpus (≈ 142), as Adaptive RMU's β = 5 would set it.
        new MethodParameter("steering", "6.5", "c, the norm of the forget target c·u") { Presets = new Dictionary<string, string> { ["demo"] = "700" } },
    };

    public int Layer(ModelConfig config, MethodSettings settings)
    {
        int layer = settings.Integer("layer");
        if (layer < 0 || layer >= config.NumLayers)
            throw new LetheException($"{Name}: layer {layer} is outside the model's layers 0..{config.NumLayers - 1}");
        return layer;
    }

    public int? LastLayer(ModelConfig config, MethodSettings settings) => Layer(config, settings);

    public IReadOnlyList<string> DefaultTrainable(ModelConfig config, MethodSettings settings)
    {
        int layer = Layer(config, settings);
        return Enumerable.Range(Math.Max(0, layer - 2), Math.Min(3, layer + 1)).Select(i => WeightLayout.Layer(config, i).Down!).ToList();
    }

    /// <summary>Unit vector with entries drawn from U[0,1), one per domain, fixed by the seed.</summary>
    public static float[] ControlVector(int hidden, ulong seed, int domain)
    {
        var rng = new Rng(seed * 1000003UL + (ulong)domain + 1);
        var u = new float[hidden];
        for (int i = 0; i < hidden; i++) u[i] = rng.NextFloat();
        double norm = Math.Sqrt(u.Sum(x => (double)x * x));
        for (int i = 0; i < hidden; i++) u[i] = (float)(u[i] / norm);
        return u;
    }

    /// <summary>The target's norm for each real forget row (RMU: c for every row).</summary>
    protected virtual float[] Coefficients(RmuObjective run, int domain, TrainingBatch batch, int[] rows) =>
        Enumerable.Repeat((float)run.Settings.Number("steering"), rows.Length).ToArray();

    public IUnlearningObjective Begin(UnlearnContext context) => new RmuObjective(this, context);

    public sealed class RmuObjective : IObjectiveParts
    {
        private readonly Rmu method;
        private readonly UnlearnContext c;
        /// <summary>The control vector u of each domain (tests may set their own).</summary>
        public readonly float[][] Controls;
        public readonly int Layer;
        /// <summary>Per-domain coefficients fixed on first use (Adaptive RMU per-domain); saved for resume.</summary>
        public readonly Dictionary<string, double> State = new();

        public MethodSettings Settings => c.Settings;
        public UnlearnContext Context => c;

        public RmuObjective(Rmu method, UnlearnContext context)
        {
            this.method = method; c = context;
            Layer = method.Layer(context.Trained.Config, context.Settings);
            Controls = Enumerable.Range(0, context.Forget.Count).Select(k => ControlVector(context.Trained.Config.HiddenSize, context.Seed, k)).ToArray();
        }

        /// <summary>Two parts, back-propagated one after the other (IObjectiveParts): the forget term, then α × the retain term.</summary>
        public IEnumerable<Tensor> Parts(long step, Dictionary<string, double> terms)
        {
            int domain = (int)(step % c.Forget.Count), d = c.Trained.Config.HiddenSize;
            var forget = c.Forget[domain].Next();
            var rows = UnlearnLosses.RealRows(forget);
            var coefficients = method.Coefficients(this, domain, forget, rows);
            var target = Tensor.Zeros(rows.Length, d);
            var ts = target.AsSpan(); var u = Controls[domain];
            for (int r = 0; r < rows.Length; r++) for (int j = 0; j < d; j++) ts[r * d + j] = coefficients[r] * u[j];
            var forgetLoss = UnlearnLosses.SteeringMse(UnlearnLosses.Hidden(c.Trained, forget, Layer), rows, target);
            terms["forget_mse"] = forgetLoss.AsReadOnlySpan()[0];
            terms["domain"] = domain;
            terms["coefficient"] = coefficients.Average();
            yield return forgetLoss;

            var retain = c.Retain!.Next();
            var retainRows = UnlearnLosses.RealRows(retain);
            var frozen = Op.GatherRows(UnlearnLosses.FrozenHidden(c.Reference, retain, Layer), retainRows);
            var retainLoss = UnlearnLosses.SteeringMse(UnlearnLosses.Hidden(c.Trained, retain, Layer), retainRows, frozen);
            terms["retain_mse"] = retainLoss.AsReadOnlySpan()[0];
            yield return Op.Scale(retainLoss, (float)c.Settings.Number("alpha"));
        }

        public Dictionary<string, double>? SaveState() => State.Count == 0 ? null : new Dictionary<string, double>(State);
        public void LoadState(Dictionary<string, double> state) { State.Clear(); foreach (var (k, v) in state) State[k] = v; }
    }

    protected static string Invariant(double x) => x.ToString(CultureInfo.InvariantCulture);
}
