// Chooses the tensors to train by name: glob patterns over checkpoint names ('*' any run of
// characters, '?' one character), e.g. "model.layers.*.mlp.down_proj.weight". A pattern that
// matches nothing is refused, naming it. Names come back in the model's checkpoint order.
using System.Text.RegularExpressions;
using Lethe.Models;

namespace Lethe.Unlearning.Training;

public static class ParameterSelection
{
    public static List<string> Match(ModelConfig config, IReadOnlyList<string> patterns)
    {
        var names = WeightLayout.Expected(config).Select(w => w.name).ToList();
        var chosen = new HashSet<string>();
        foreach (var pattern in patterns)
        {
            var regex = new Regex("^" + Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$");
            var hits = names.Where(n => regex.IsMatch(n)).ToList();
            if (hits.Count == 0)
                throw new LetheException($"parameter pattern '{pattern}' matches no tensor of the model (names look like '{names.FirstOrDefault(n => n.Contains("layers.0")) ?? names[0]}')");
            chosen.UnionWith(hits);
        }
        return names.Where(chosen.Contains).ToList();
    }

    /// <summary>The block index a tensor name belongs to, or null for embeddings, final norm, head.</summary>
    public static int? LayerOf(ModelConfig config, string name)
    {
        for (int i = 0; i < config.NumLayers; i++)
        {
            var n = WeightLayout.Layer(config, i);
            string?[] all = { n.Norm1, n.Norm1Bias, n.Norm2, n.Norm2Bias, n.PostAttnNorm, n.PostMlpNorm, n.Q, n.K, n.V, n.O, n.QBias, n.KBias, n.VBias,
                n.OBias, n.QNorm, n.KNorm, n.Qkv, n.QkvBias, n.Gate, n.Up, n.Down, n.UpBias, n.DownBias };
            if (all.Contains(name)) return i;
        }
        return null;
    }
}
