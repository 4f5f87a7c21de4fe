// Parameter restoration of [S2], generalised (methods.md §2.2): copy a group of the original's
// weights, in a layer window, into the unlearned model, measure, and copy the unlearned weights
// back. Groups by name:
//   down_proj  the value vectors (down_proj / c_proj / dense_4h_to_h, with its bias)
//   gate_up    the key side of the MLP (gate and up projections, with biases)
//   attention  q, k, v (or the fused qkv), o, their biases and q/k norms
//   norms      the block's norm weights and biases
// Any other text is a regular expression matched against the checkpoint names of the window's
// layers (for example "self_attn\.o_proj"). Two ways: With builds a model over the target's own
// (possibly memory-mapped) tensors with the group replaced — what dissection uses, no copy of the
// target; Restore copies into a writable target and undoes on dispose.
using System.Text.RegularExpressions;
using Lethe.Models;
using Lethe.Tensors;

namespace Lethe.Analysis;

public static class ParameterGroups
{
    public static readonly string[] Default = { "down_proj", "gate_up", "attention", "norms" };

    /// <summary>The checkpoint names of the group's weights in the window's layers (never empty).</summary>
    public static List<string> Names(ModelConfig c, string group, LayerWindow window)
    {
        var names = new List<string>();
        var regex = Default.Contains(group) ? null : Pattern(group);
        for (int l = window.From; l <= window.To; l++)
        {
            var n = WeightLayout.Layer(c, l);
            IEnumerable<string?> picked = group switch
            {
                "down_proj" => new[] { n.Down, n.DownBias },
                "gate_up" => new[] { n.Gate, n.Up, n.UpBias },
                "attention" => new[] { n.Q, n.K, n.V, n.Qkv, n.O, n.QBias, n.KBias, n.VBias, n.QkvBias, n.OBias, n.QNorm, n.KNorm },
                "norms" => new[] { n.Norm1, n.Norm1Bias, n.Norm2, n.Norm2Bias, n.PostAttnNorm, n.PostMlpNorm },
                _ => AllOf(n).Where(name => name is not null && regex!.IsMatch(name)),
            };
            names.AddRange(picked.Where(x => x is not null)!);
        }
        if (names.Count == 0)
            throw LetheException.About($"restore '{group}' matches no weight of layers {window}; give down_proj, gate_up, attention, norms or a regular expression over names such as {WeightLayout.Layer(c, window.From).Down}", "restore");
        return names;
    }

    /// <summary>Every weight of the whole model (restoring all of them makes the target the source).</summary>
    public static List<string> Everything(ModelConfig c) => WeightLayout.Expected(c).Select(e => e.name).ToList();

    private static IEnumerable<string?> AllOf(LayerWeightNames n) => new[]
    {
        n.Norm1, n.Norm1Bias, n.Norm2, n.Norm2Bias, n.PostAttnNorm, n.PostMlpNorm, n.Q, n.K, n.V, n.O, n.QBias, n.KBias, n.VBias, n.OBias,
        n.QNorm, n.KNorm, n.Qkv, n.QkvBias, n.Gate, n.Up, n.Down, n.UpBias, n.DownBias,
    };

    private static Regex Pattern(string group)
    {
        try { return new Regex(group, RegexOptions.CultureInvariant); }
        catch (ArgumentException e) { throw LetheException.About($"restore '{group}' is neither a group (down_proj, gate_up, attention, norms) nor a valid regular expression: {e.Message}", "restore"); }
    }
}

public static class ParameterRestoration
{
    /// <summary>
    /// A model that computes with target's weights except the given replacements (compute layout, by
    /// checkpoint name). Nothing is copied or written: the new model shares target's tensors, so a
    /// memory-mapped target serves restoration without a writable copy. Disposing it frees nothing
    /// of target's (the replacements stay the caller's).
    /// </summary>
    public static TransformerModel With(TransformerModel target, IReadOnlyDictionary<string, Tensor> replacements)
    {
        var weights = new Dictionary<string, Tensor>(target.Weights);
        foreach (var (name, t) in replacements)
        {
            if (!weights.TryGetValue(name, out var own)) throw new LetheException($"weight '{name}' is not part of the model {target.Config.SourcePath}");
            if (!Tensors.Shape.Equal(own.Shape, t.Shape)) throw ShapeMismatchException.Of($"restoring '{name}'", "the original's", t.Shape, "the unlearned model's", own.Shape);
            weights[name] = t;
        }
        return new TransformerModel(target.Config, weights);
    }

    /// <summary>Copies the named weights from source into target; disposing the result puts the target's own weights back.</summary>
    public static IDisposable Restore(TransformerModel target, TransformerModel source, IEnumerable<string> names)
    {
        var saved = new List<(Tensor target, Tensor copy)>();
        try
        {
            foreach (var name in names)
            {
                var t = target.Weights[name];
                if (t.Storage.ReadOnly) throw new LetheException($"{name}: the unlearned model's weights are memory-mapped read-only; load it writable to restore parameters");
                saved.Add((t, t.Clone()));
                t.CopyFrom(source.Weights[name]);
            }
        }
        catch { Undo(saved); throw; }
        return new Undoer(() => Undo(saved));
    }

    private static void Undo(List<(Tensor target, Tensor copy)> saved)
    {
        foreach (var (t, copy) in saved) { t.CopyFrom(copy); copy.Dispose(); }
        saved.Clear();
    }

    private sealed class Undoer(Action undo) : IDisposable
    {
        private Action? undo = undo;
        public void Dispose() { undo?.Invoke(); undo = null; }
    }
}
