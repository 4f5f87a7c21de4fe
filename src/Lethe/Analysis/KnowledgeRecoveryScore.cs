// The Knowledge Recovery Score of [S2] (methods.md §2.2), per question i:
//   D(M_a, M_b; i) = mean over the answer rows t and all vocabulary entries v of (z_a[t,v] − z_b[t,v])²
//   KRS(i) = 1 − D(M_o, M_u*; i) / D(M_o, M_u; i)
// with M_u* the unlearned model after an intervention: 1 = fully restored, 0 = no effect, negative =
// further away. Logits are fp32; the squared differences are summed in double so that the mean
// does not depend on the order of a long sum. When D(M_o, M_u; i) = 0 (the models agree exactly on
// that answer) the ratio has no meaning: KRS(i) is undefined, never NaN. A summary averages the
// defined questions and gives a 95 % percentile bootstrap interval over questions (seeded); with no
// defined question the summary itself is undefined (null in JSON, "undefined" in tables).
using System.Text.Json.Nodes;

namespace Lethe.Analysis;

public static class KnowledgeRecoveryScore
{
    /// <summary>Mean squared difference of two equally long logit blocks (rows × vocabulary).</summary>
    public static double Distance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"logit blocks differ in size: {a.Length} vs {b.Length}");
        if (a.Length == 0) throw new ArgumentException("no logits to compare");
        double sum = 0;
        for (int i = 0; i < a.Length; i++) { float d = a[i] - b[i]; sum += (double)d * d; }
        return sum / a.Length;
    }

    /// <summary>KRS of one question, or null when the baseline distance is 0.</summary>
    public static double? Of(double baseline, double intervened) => baseline > 0 ? 1 - intervened / baseline : null;

    public static KrsSummary Summarise(IReadOnlyList<double> baseline, IReadOnlyList<double> intervened, ulong seed = 1)
    {
        if (baseline.Count != intervened.Count) throw new ArgumentException("one intervened distance per baseline distance");
        var perQuestion = baseline.Select((b, i) => Of(b, intervened[i])).ToArray();
        return new KrsSummary(perQuestion, seed);
    }
}

/// <summary>KRS per question (null = undefined), their mean over defined questions and a bootstrap interval.</summary>
public sealed class KrsSummary
{
    public IReadOnlyList<double?> PerQuestion { get; }
    public double? Mean { get; }
    public (double Low, double High)? Interval { get; }
    public int Defined => PerQuestion.Count(k => k is not null);
    public int Undefined => PerQuestion.Count - Defined;

    public KrsSummary(IReadOnlyList<double?> perQuestion, ulong seed = 1)
    {
        PerQuestion = perQuestion;
        var defined = perQuestion.Where(k => k is not null).Select(k => k!.Value).ToArray();
        if (defined.Length == 0) return;
        Mean = defined.Average();
        Interval = Bootstrap(defined, seed);
    }

    /// <summary>95 % percentile interval of the mean over 1,000 resamples of the questions.</summary>
    private static (double, double) Bootstrap(double[] values, ulong seed)
    {
        if (values.Length == 1) return (values[0], values[0]);
        var rng = new Tensors.Rng(seed);
        var means = new double[1000];
        for (int r = 0; r < means.Length; r++)
        {
            double s = 0;
            for (int i = 0; i < values.Length; i++) s += values[rng.NextInt(values.Length)];
            means[r] = s / values.Length;
        }
        Array.Sort(means);
        return (means[24], means[974]);
    }

    /// <summary>"0.742 [0.61, 0.85]" or "undefined".</summary>
    public string Format() => Mean is double m ? $"{m:0.000} [{Interval!.Value.Low:0.00}, {Interval.Value.High:0.00}]" : "undefined";

    public JsonObject ToJson() => new()
    {
        ["krs"] = Mean,
        ["status"] = Mean is null ? "undefined: the two models' logits are identical on every scored answer (D = 0)" : "ok",
        ["ci95"] = Interval is { } ci ? new JsonArray(ci.Low, ci.High) : null,
        ["questions_defined"] = Defined,
        ["questions_undefined"] = Undefined,
        ["per_question"] = new JsonArray(PerQuestion.Select(k => (JsonNode?)(k is double v ? JsonValue.Create(v) : null)).ToArray()),
    };
}
