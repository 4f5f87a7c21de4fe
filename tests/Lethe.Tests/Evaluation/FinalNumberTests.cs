// GSM8K final-number extraction and value comparison on hand-made answers, including a refusal.
using Lethe.Evaluation;
using Lethe.Evaluation.Metrics;
using Xunit;

namespace Lethe.Tests.Evaluation;

public class FinalNumberTests
{
    [Theory]
    [InlineData("She has 7 + 8 = 15 pencils. The answer is 15.", "15")]
    [InlineData("The answer is 42 because 6 * 7 = 42 and not 41", "42")]        // first number after the phrase
    [InlineData("the answer is: $1,250.", "1,250")]                             // case-insensitive, $ and comma
    [InlineData("250 * 4 = 1000\n#### 1000\nQuestion: 3 apples", "1000")]         // the GSM8K format
    [InlineData("First 3, then 4, finally 12", "12")]                            // else the last number
    [InlineData("It is -3 degrees", "-3")]
    [InlineData("About .5 of it", ".5")]
    [InlineData("The answer is unclear, maybe 9", "9")]                          // phrase without a number: fall back
    [InlineData("The year 2,023 ended.", "2,023")]
    public void ExtractsTheFinalNumber(string output, string expected) => Assert.Equal(expected, FinalNumber.Extract(output));

    [Theory]
    [InlineData("")]
    [InlineData("I do not know.")]
    [InlineData(Lethe.Models.Generation.InferenceIntervention.DefaultRefusal)]
    public void TextWithoutANumberHasNone(string output) => Assert.Null(FinalNumber.Extract(output));

    [Theory]
    [InlineData("The answer is 1000", "1,000", true)]
    [InlineData("#### 1,000", "1000", true)]
    [InlineData("so 7.0 in all", "7", true)]
    [InlineData("so 7.50 in all", "7.5", true)]
    [InlineData("The answer is $5.", "5", true)]
    [InlineData("The answer is 15", "16", false)]
    [InlineData("The answer is 15 then 16", "16", false)]
    [InlineData("-4", "4", false)]
    [InlineData(Lethe.Models.Generation.InferenceIntervention.DefaultRefusal, "0", false)]                      // an abstention is wrong
    public void ComparesValuesNotText(string output, string gold, bool correct) => Assert.Equal(correct, FinalNumber.IsCorrect(output, gold));

    [Fact]
    public void CanonicalFormDropsSeparatorsAndTrailingZeros()
    {
        Assert.Equal("1000", FinalNumber.Canonical("1,000"));
        Assert.Equal("1000.5", FinalNumber.Canonical("1,000.50"));
        Assert.Equal("7", FinalNumber.Canonical("7.0"));
        Assert.Null(FinalNumber.Canonical("none"));
        Assert.Throws<ArgumentException>(() => FinalNumber.IsCorrect("1", "no number"));
    }
}
