// Activation patching of [S2] (methods.md §2.2): run a source model once per question and keep its
// activations at the chosen hook points (every layer, every position) and its logits at the scored
// answer rows; then run the target model with hooks that overwrite its activations with the
// source's at a layer window and a set of positions, and measure how far its answer logits are from
// the source's. Original → unlearned is [S2]'s direction (does restoring the original's activations
// bring the knowledge back?); unlearned → original is the reverse. Only one model needs to be in
// memory: the source's cache is plain copies, made before the target is loaded.
// Patch points are block hook points (HookPoints.cs) by their suffix — mlp.coeff (the key vector /
// coefficients, input of down_proj), attn_out, mlp_out, resid_post, resid_pre, resid_mid,
// mlp.pre_act — plus "both" = mlp.coeff and attn_out together (the [S2] combination).
// Positions: all; answer (the scored rows: the last prompt token and every answer token whose
// successor is scored); last (the last prompt token only).
using Lethe.Models;
using Lethe.Tensors;
using Lethe.Tensors.Autograd;

namespace Lethe.Analysis;

public enum PatchPositions { All, Answer, Last }

public static class PatchPoints
{
    public static readonly string[] Components = { "resid_pre", "attn_out", "resid_mid", "mlp.pre_act", "mlp.coeff", "mlp_out", "resid_post" };
    public static readonly string[] Default = { "mlp.coeff", "attn_out", "both", "mlp_out", "resid_post" };

    /// <summary>The block hook point suffixes a patch point name stands for.</summary>
    public static string[] Expand(string point) => point switch
    {
        "both" => new[] { "mlp.coeff", "attn_out" },
        _ when Components.Contains(point) => new[] { point },
        _ => throw new LetheException($"patch point '{point}' is not a block hook point; valid: {string.Join(", ", Components)}, both (= mlp.coeff + attn_out)"),
    };

    public static PatchPositions ParsePositions(string text) => text switch
    {
        "all" => PatchPositions.All,
        "answer" => PatchPositions.Answer,
        "last" => PatchPositions.Last,
        _ => throw new LetheException($"positions '{text}': give all, answer (the scored answer rows) or last (the last prompt token)"),
    };

    public static string Name(PatchPositions p) => p.ToString().ToLowerInvariant();

    public static int[] Rows(AnsweredQuestion q, PatchPositions p) => p switch
    {
        PatchPositions.All => Enumerable.Range(0, q.Ids.Length).ToArray(),
        PatchPositions.Answer => q.ScoredRows,
        _ => new[] { q.PromptLength - 1 },
    };
}

/// <summary>A model's logits at the scored rows and its activations at chosen block points, per question.</summary>
public sealed class SourceRun : IDisposable
{
    public AnswerSet Answers { get; }
    /// <summary>Per question: logits [answer length × vocabulary], row-major.</summary>
    public float[][] Logits { get; }
    private readonly Dictionary<string, Tensor>[] activations;
    public string Model { get; }

    private SourceRun(AnswerSet answers, float[][] logits, Dictionary<string, Tensor>[] activations, string model)
    {
        Answers = answers; Logits = logits; this.activations = activations; Model = model;
    }

    /// <summary>Bytes the cache holds (activations and logits).</summary>
    public long Bytes => activations.Sum(d => d.Values.Sum(t => t.Length * 4L)) + Logits.Sum(l => l.LongLength * 4);

    public Tensor Activation(int question, string hookName) => activations[question].TryGetValue(hookName, out var t) ? t
        : throw new LetheException($"'{hookName}' was not cached for the source model {Model}");

    /// <summary>One forward pass per question; components: the block points to keep at every layer (none: logits only).</summary>
    public static SourceRun Capture(TransformerModel model, AnswerSet answers, IReadOnlyCollection<string> components, Action<int>? onDone = null)
    {
        var wanted = new HashSet<string>(Enumerable.Range(0, model.Config.NumLayers).SelectMany(l => components.Select(c => HookNames.Block(l, c))));
        var logits = new float[answers.Items.Count][];
        var acts = new Dictionary<string, Tensor>[answers.Items.Count];
        using var noGrad = Tape.NoGrad();
        for (int i = 0; i < answers.Items.Count; i++)
        {
            var q = answers.Items[i];
            var arena = ActivationPatching.Arena;
            arena.Reset();
            ActivationCache cache;
            using (arena.Activate())
            {
                var (z, c) = model.RunWithCache(q.Ids, 1, wanted.Count == 0 ? _ => false : wanted.Contains, new ForwardOptions { LogitRows = q.ScoredRows });
                logits[i] = z.ToArray(); cache = c;
            }
            acts[i] = cache.Names.ToDictionary(n => n, n => cache[n]);
            onDone?.Invoke(i + 1);
        }
        return new SourceRun(answers, logits, acts, Path.GetDirectoryName(model.Config.SourcePath) ?? model.Config.SourcePath);
    }

    public void Dispose()
    {
        foreach (var d in activations) foreach (var t in d.Values) t.Dispose();
    }
}

public static class ActivationPatching
{
    /// <summary>The target's logits at the question's scored rows, with optional hooks.</summary>
    public static float[] ScoredLogits(TransformerModel target, AnsweredQuestion q, HookSet? hooks = null)
    {
        using var noGrad = Tape.NoGrad();
        var arena = Arena;
        arena.Reset();
        using (arena.Activate()) return target.Forward(q.Ids, 1, new ForwardOptions { LogitRows = q.ScoredRows, Hooks = hooks }).ToArray();
    }

    // The pass's own outputs (logits) live in one reused arena instead of a native allocation per pass.
    [ThreadStatic] private static TensorArena? arena;
    internal static TensorArena Arena => arena ??= new TensorArena();

    /// <summary>Hooks that put the source's activations of question i at the points, layers and positions into the target.</summary>
    public static HookSet Hooks(SourceRun source, int question, IEnumerable<string> components, LayerWindow window, PatchPositions positions)
    {
        var q = source.Answers.Items[question];
        var rows = PatchPoints.Rows(q, positions);
        var hooks = new HookSet();
        foreach (var c in components)
            for (int l = window.From; l <= window.To; l++)
            {
                string name = HookNames.Block(l, c);
                hooks.Add(name, Patch.Rows(rows, source.Activation(question, name)));
            }
        return hooks;
    }

    /// <summary>
    /// D(reference, the target's logits at the question's scored rows, with optional hooks), computed on the pass's
    /// own arena buffer. No managed copy of the logits is made: at a large vocabulary each copy is a large-object-heap
    /// array (30 rows × 49,152 entries = 5.9 MB) and a sweep makes thousands, which the GC lets pile up before it
    /// collects them — memory the one-model-at-a-time plan does not budget for.
    /// </summary>
    public static double Distance(TransformerModel target, AnsweredQuestion q, float[] reference, HookSet? hooks = null)
    {
        using var noGrad = Tape.NoGrad();
        var arena = Arena;
        arena.Reset();
        using (arena.Activate())
            return KnowledgeRecoveryScore.Distance(reference, target.Forward(q.Ids, 1, new ForwardOptions { LogitRows = q.ScoredRows, Hooks = hooks }).AsReadOnlySpan());
    }

    /// <summary>D(source, target with hooks) per question.</summary>
    public static double[] Distances(TransformerModel target, SourceRun source, Func<int, HookSet?> hooksFor)
    {
        var d = new double[source.Answers.Items.Count];
        for (int i = 0; i < d.Length; i++)
            d[i] = Distance(target, source.Answers.Items[i], source.Logits[i], hooksFor(i));
        return d;
    }
}
