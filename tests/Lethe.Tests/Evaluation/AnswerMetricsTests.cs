// Normalisation, containment, exact match and F1 on hand-made cases in several languages, including a refusal.
using Lethe.Evaluation;
using Lethe.Evaluation.Metrics;
using Xunit;

namespace Lethe.Tests.Evaluation;

public class AnswerMetricsTests
{
    [Theory]
    [InlineData("The Rhine, in 1804!", "en", "rhine in 1804")]
    [InlineData("U.S. don't", "en", "us dont")]
    [InlineData("Der Rhein und ein Fluss", "de", "rhein und fluss")]
    [InlineData("La casa y el río", "es", "casa y río")]
    [InlineData("Nhà của tôi", "vi", "nhà tôi")]
    [InlineData("الكتاب جديد", "ar", "كتاب جديد")]
    [InlineData("湖的东岸。", "zh", "湖 的 东 岸")]
    [InlineData("The cat", "zh", "the cat")]          // no article list for zh
    [InlineData("a+b=c | d", "en", "abc d")]           // ASCII symbols from string.punctuation go too
    public void NormalisesPerLanguage(string text, string lang, string expected) => Assert.Equal(expected, TextNormalizer.Normalize(text, lang));

    [Fact]
    public void ContainmentIsOnNormalisedText()
    {
        Assert.True(AnswerMetrics.Contains(" It was built in 1804, on the shore.", new[] { "1804" }));
        Assert.True(AnswerMetrics.Contains("WOOL and salt.", new[] { "rice", "wool and salt" }));
        Assert.True(AnswerMetrics.Contains("塔姆斯克镇建在湖的东岸。", new[] { "湖的东岸" }, "zh"));
        Assert.False(AnswerMetrics.Contains("in 1805", new[] { "1804" }));
        Assert.False(AnswerMetrics.Contains("", new[] { "1804" }));
        Assert.True(AnswerMetrics.Contains("it said ?!", new[] { "?!" }));      // a punctuation-only gold is compared as written
    }

    [Fact]
    public void AnAbstentionContainsNoOrdinaryAnswer()
    {
        Assert.False(AnswerMetrics.Contains(Lethe.Models.Generation.InferenceIntervention.DefaultRefusal, new[] { "1804" }));
        Assert.False(AnswerMetrics.ExactMatch(Lethe.Models.Generation.InferenceIntervention.DefaultRefusal, "Tamsk"));
        Assert.Equal(0, AnswerMetrics.F1(Lethe.Models.Generation.InferenceIntervention.DefaultRefusal, "the northern fens"));
    }

    [Fact]
    public void ExactMatchIgnoresCasePunctuationAndArticles()
    {
        Assert.True(AnswerMetrics.ExactMatch("The Northern Fens.", "northern fens"));
        Assert.True(AnswerMetrics.ExactMatch(" Tamsk", new[] { "Velora", "Tamsk" }));
        Assert.False(AnswerMetrics.ExactMatch("Tamsk town", "Tamsk"));
        Assert.False(AnswerMetrics.ExactMatch("", "a"));                         // a blank answer never matches, even a gold that normalises to nothing
    }

    [Fact]
    public void F1CountsSharedTokensWithMultiplicity()
    {
        Assert.Equal(1.0, AnswerMetrics.F1("the wool and salt", "Wool and salt"), 12);
        // answer: wool salt salt (3), gold: salt and wool (3): shared wool, salt = 2 → P = R = 2/3.
        Assert.Equal(2.0 / 3, AnswerMetrics.F1("wool salt salt", "salt and wool"), 12);
        // P = 1/1, R = 1/4 → F1 = 0.4
        Assert.Equal(0.4, AnswerMetrics.F1("salt", "wool salt and rope"), 12);
        Assert.Equal(0, AnswerMetrics.F1("", "salt"));
        Assert.Equal(1.0, AnswerMetrics.F1("东岸", new[] { "西岸", "东岸" }, "zh"), 12);
        Assert.Equal(2.0 / 3, AnswerMetrics.F1("东", "东岸", "zh"), 12);   // character-level: P = 1, R = 1/2
    }
}
