// How something acts on a model at inference without changing a weight — the one abstraction that
// generation, evaluation and the unlearning methods share (Neuron Adjust and Selective Pruning edit
// activations, Key Space Detection abstains):
//   - Hooks: registered once; they run in no-grad forward passes (generation and scoring alike).
//   - Begin(n): a new run over n sequences (a generation batch, a scoring batch): clears verdicts.
//   - SetPass(layout): before each forward pass, which sequence each of its rows holds, where the
//     sequence's tokens start, and a key identifying the sequence (a hash of its prompt ids). Hooks
//     use it to find each sequence's newest position and to draw random numbers that depend only
//     on (seed, sequence key, position, neuron) — never on which other sequences share the batch.
//   - States (optional): per row, the sequence's SequenceState, which lives as long as the sequence
//     across all its passes (the Generator keeps one per sequence). A hook that pools over the
//     tokens seen so far (Key Space Detection's mean key) keeps its running total there, since a
//     row's index changes from pass to pass. Passes without States keep nothing between passes.
//   - Flagged(s): whether sequence s of the run was detected in the last pass it took part in. The
//     Generator latches the verdict of each row when it finishes and drops finished rows from later
//     passes, so a verdict never depends on tokens the row did not generate or on the batch.
// A forward pass run without SetPass (tests, one-off probes) is taken as one sequence with key 0
// starting at row 0. The refusal text an abstained answer gets is defined here and nowhere else.
using Lethe.Tensors.Autograd;

namespace Lethe.Models.Generation;

/// <summary>
/// The rows of one forward pass: Rows sequences of Length positions each; row r holds sequence
/// Sequences[r] (its index in the run) whose position p (from its first real token) is at
/// t = p − Offset[r] within the pass (t &lt; 0 or negative p: padding). Keys[r] identifies the sequence.
/// States[r], when given, is the sequence's own storage across its passes (null: none kept).
/// </summary>
public sealed record PassLayout(int Rows, int Length, int[] Sequences, int[] Offset, ulong[] Keys, SequenceState[]? States = null)
{
    /// <summary>The default for passes run without a layout: every row one sequence of key 0, positions from 0.</summary>
    public static PassLayout Plain(int rows, int length) =>
        new(rows, length, Enumerable.Range(0, rows).ToArray(), new int[rows], new ulong[rows]);

    /// <summary>Position of row r's t-th entry in its sequence (negative: left padding).</summary>
    public int Position(int r, int t) => Offset[r] + t;

    /// <summary>A sequence's key: a hash of its prompt ids (FNV-1a, then mixed), the same in every batch.</summary>
    public static ulong KeyOf(ReadOnlySpan<int> ids)
    {
        ulong h = 0xcbf29ce484222325UL;
        foreach (int id in ids) { h ^= (uint)id; h *= 0x100000001b3UL; }
        return Mix(h);
    }

    /// <summary>splitmix64's finaliser: a well-mixed 64-bit value from any input.</summary>
    public static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A uniform number in [0, 1) fixed by the four values (a counter-based draw).</summary>
    public static double Uniform(ulong seed, ulong key, long a, long b) =>
        (Mix(Mix(Mix(seed ^ key) ^ (ulong)a) ^ (ulong)b) >> 11) * (1.0 / (1UL << 53));
}

/// <summary>
/// Storage that one sequence carries through all its passes, one slot per owner (a hook of an
/// intervention): what a hook pools over the sequence's tokens so far. Not thread-safe (one
/// thread steps a batch).
/// </summary>
public sealed class SequenceState
{
    private readonly Dictionary<object, object> slots = new(ReferenceEqualityComparer.Instance);

    /// <summary>The owner's slot, created on first use.</summary>
    public T Get<T>(object owner, Func<T> create) where T : class
    {
        if (slots.TryGetValue(owner, out var v)) return (T)v;
        var made = create();
        slots[owner] = made;
        return made;
    }
}

public abstract class InferenceIntervention
{
    /// <summary>The answer an abstaining model gives ([S1]'s wording); an abstained answer is scored wrong.</summary>
    public const string DefaultRefusal = "Sorry, your query is not valid";

    private HookSet? hooks;
    private PassLayout? pass;

    public HookSet Hooks
    {
        get
        {
            if (hooks is null) { var h = new HookSet(); Register(h); hooks = h; }
            return hooks;
        }
    }

    protected internal abstract void Register(HookSet hooks);

    /// <summary>Sequences in the current run (set by Begin; 1 until then).</summary>
    protected int Sequences { get; private set; } = 1;

    /// <summary>Starts a run over n sequences: clears every verdict; passes without SetPass are plain.</summary>
    public virtual void Begin(int sequences)
    {
        if (sequences < 1) throw new LetheException($"an intervention's run needs at least 1 sequence, got {sequences}");
        Sequences = sequences;
        pass = null;
    }

    /// <summary>Declares the rows of the next forward pass.</summary>
    public virtual void SetPass(PassLayout layout)
    {
        foreach (int s in layout.Sequences)
            if ((uint)s >= (uint)Sequences) throw new LetheException($"a pass names sequence {s} of a run of {Sequences}; call Begin with the run's size first");
        pass = layout;
    }

    /// <summary>The layout of the pass whose activation a hook sees: the declared one, or plain rows of one sequence when none was declared.</summary>
    protected PassLayout LayoutFor(string hookName, int activationRows)
    {
        if (pass is null) return PassLayout.Plain(1, activationRows);
        if (pass.Rows * pass.Length != activationRows)
            throw new LetheException($"hook at '{hookName}': {activationRows} activation rows are not the {pass.Rows} × {pass.Length} of the declared pass; call SetPass before each forward pass");
        return pass;
    }

    /// <summary>Whether sequence s of the run was detected (only interventions that abstain ever say yes).</summary>
    public virtual bool Flagged(int sequence) => false;
    public virtual bool CanAbstain => false;
    public virtual string Refusal => DefaultRefusal;

    /// <summary>In-place edits are only sound without a gradient tape.</summary>
    protected static void RequireNoGrad(string hookName)
    {
        if (Tape.Active is not null)
            throw new LetheException($"hook at '{hookName}': interventions act at inference and edit activations in place; run without gradients (Tape.NoGrad)");
    }

    /// <summary>Several interventions at once (e.g. Neuron Adjust and Key Space Detection): hooks run in the order given; any abstention abstains.</summary>
    public static InferenceIntervention Combine(params InferenceIntervention[] parts)
    {
        if (parts.Length == 0) throw new LetheException("InferenceIntervention.Combine needs at least one intervention");
        return parts.Length == 1 ? parts[0] : new CompositeIntervention(parts);
    }

    /// <summary>A run over prompts: Begin, then the layout of one pass over them (right-padded, positions from 0) — for scoring passes.</summary>
    public void BeginScoring(IReadOnlyList<int[]> contexts, int length)
    {
        Begin(contexts.Count);
        SetPass(new PassLayout(contexts.Count, length, Enumerable.Range(0, contexts.Count).ToArray(), new int[contexts.Count],
            contexts.Select(c => PassLayout.KeyOf(c)).ToArray()));
    }
}

internal sealed class CompositeIntervention : InferenceIntervention
{
    private readonly InferenceIntervention[] parts;

    public CompositeIntervention(InferenceIntervention[] parts) => this.parts = parts;

    protected internal override void Register(HookSet hooks) { foreach (var p in parts) p.Register(hooks); }

    public override void Begin(int sequences) { base.Begin(sequences); foreach (var p in parts) p.Begin(sequences); }
    public override void SetPass(PassLayout layout) { base.SetPass(layout); foreach (var p in parts) p.SetPass(layout); }

    public override bool Flagged(int sequence) => parts.Any(p => p.Flagged(sequence));
    public override bool CanAbstain => parts.Any(p => p.CanAbstain);
    public override string Refusal => parts.FirstOrDefault(p => p.CanAbstain)?.Refusal ?? base.Refusal;
}

/// <summary>An intervention given as a function that adds hooks (tests, experiments).</summary>
public sealed class HookIntervention : InferenceIntervention
{
    private readonly Action<HookSet> add;
    public HookIntervention(Action<HookSet> add) => this.add = add;
    protected internal override void Register(HookSet hooks) => add(hooks);
}
