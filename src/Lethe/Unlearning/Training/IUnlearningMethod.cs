// The contract every unlearning method implements, and the settings they share.
//   IUnlearningMethod   what any method declares: its name (the CLI verb), a one-line summary, its
//                       kind, and its parameters (name, default, per-preset values, help).
//   ITrainingMethod     weight-editing methods: which tensors they train by default, which data
//                       they need, how deep the model must run, and a per-run objective that gives
//                       the loss of one step. UnlearnRunner does everything else (data, optimizer,
//                       checkpoints, resume, run record, the output Hugging Face folder).
//   IAdapterMethod      inference-time methods (KSD, Neuron Adjust, Selective Pruning; in
//                       Unlearning/IAdapterMethod.cs): they fit an adapter file from probe sets.
// Both kinds are listed in MethodRegistry and resolve their parameters through MethodSettings.
// Parameter names are the library's own (snake_case); the CLI shows them as flags with dashes
// (retain_weight → --retain-weight).
using Lethe.Models;
using Lethe.Models.Training;
using Lethe.Tensors;

namespace Lethe.Unlearning.Training;

public enum MethodKind { WeightEditing, Adapter }

/// <summary>A method parameter: values are strings (parsed by the method), defaults per preset.</summary>
public sealed record MethodParameter(string Name, string Default, string Help, string[]? Choices = null)
{
    /// <summary>Values that replace Default under a preset ("zephyr-7b", "demo").</summary>
    public IReadOnlyDictionary<string, string> Presets { get; init; } = new Dictionary<string, string>();

    /// <summary>The smallest value allowed, checked when the settings are resolved (null: no bound).</summary>
    public double? Min { get; init; }

    /// <summary>A free-text value (not checked as a number when the settings are resolved; "" = unset for numbers).</summary>
    public bool IsText { get; init; }

    /// <summary>Other names a front end may accept for it (the CLI's --percent beside --p).</summary>
    public IReadOnlyList<string> Aliases { get; init; } = Array.Empty<string>();
}

public interface IUnlearningMethod
{
    /// <summary>The verb: lower case with dashes ("graddiff-kl").</summary>
    string Name { get; }
    string Summary { get; }
    MethodKind Kind { get; }
    IReadOnlyList<MethodParameter> Parameters { get; }
}

public interface ITrainingMethod : IUnlearningMethod
{
    /// <summary>Whether this run needs retain data (it may depend on a weight being non-zero).</summary>
    bool NeedsRetain(MethodSettings settings);

    /// <summary>Whether each forget file is its own domain (RMU's control vector per domain) instead of one pooled set.</summary>
    bool ForgetDomains { get; }

    /// <summary>Whether the objective reads UnlearnContext.Refusals (IdkDPO).</summary>
    bool NeedsRefusals { get; }

    /// <summary>The last block the forward pass must run (RMU truncates after layer ℓ); null = the whole model.</summary>
    int? LastLayer(ModelConfig config, MethodSettings settings);

    /// <summary>Checkpoint names of the tensors trained when no pattern is given.</summary>
    IReadOnlyList<string> DefaultTrainable(ModelConfig config, MethodSettings settings);

    /// <summary>The per-run objective, created once the models and data are ready.</summary>
    IUnlearningObjective Begin(UnlearnContext context);
}

/// <summary>One run's loss: called inside an active tape; returns the total and its named terms. UnlearnStep turns it into gradients.</summary>
public interface IUnlearningObjective
{
    LossTerms Loss(long step);

    /// <summary>State that must survive a resume (e.g. Adaptive RMU's per-domain coefficients); null = none.</summary>
    Dictionary<string, double>? SaveState() => null;
    void LoadState(Dictionary<string, double> state) { }
}

/// <summary>
/// An objective whose loss is a sum of parts over separate forward passes (RMU: the forget term and
/// α × the retain term). UnlearnStep back-propagates each part as soon as it is built and reclaims
/// its activations before the next part runs, so one pass's activations are alive at a time instead
/// of all of them; gradients are linear in the loss, so they add up to the whole loss's.
/// </summary>
public interface IObjectiveParts : IUnlearningObjective
{
    /// <summary>
    /// The parts of step's loss, each built (on the tape active then) when the enumeration reaches it.
    /// A part's tensors are reclaimed once the next part is requested, so put its named values into
    /// terms before yielding it, and carry nothing but plain numbers from one part to the next.
    /// </summary>
    IEnumerable<Tensor> Parts(long step, Dictionary<string, double> terms);

    /// <summary>The whole loss as one tensor (every part's activations alive at once).</summary>
    LossTerms IUnlearningObjective.Loss(long step)
    {
        var terms = new Dictionary<string, double>();
        Tensor? total = null;
        foreach (var part in Parts(step, terms)) total = total is null ? part : Tensors.Ops.Op.Add(total, part);
        return new LossTerms(total ?? throw new InvalidOperationException("an objective in parts yielded no part"), terms);
    }
}

/// <summary>The scalar to back-propagate and the named values to log (plain numbers).</summary>
public sealed record LossTerms(Tensor Total, IReadOnlyDictionary<string, double> Terms);

/// <summary>
/// What an objective sees: the trained model, the frozen reference (sharing every untrained
/// weight), the resolved settings, and batch sources (positions saved by the runner for resume).
/// </summary>
public sealed class UnlearnContext
{
    public required TransformerModel Trained { get; init; }
    public required TransformerModel Reference { get; init; }
    public required MethodSettings Settings { get; init; }
    public required IReadOnlyList<IBatchSource> Forget { get; init; }
    public IBatchSource? Retain { get; init; }
    /// <summary>Forget examples with a refusal as the answer, visited in the same order as Forget[0] (IdkDPO).</summary>
    public IBatchSource? Refusals { get; init; }
    public ulong Seed { get; init; }
}
