// Prompt templates (the demo world defaults, slot filling, loading from JSON), the suite layout and train splits.
using Lethe.Evaluation;
using Lethe.Evaluation.Tasks;
using Lethe.Data.Readers;
using Lethe.Tests.Data;
using Xunit;

namespace Lethe.Tests.Evaluation;

public class EvalPromptsTests
{
    [Fact]
    public void DefaultsAreTheDemoWorldFormats()
    {
        var p = EvalPrompts.Default;
        Assert.Equal("The following are multiple choice questions (with answers) about high school biology.\nWhich?\nA. x\nB. y\nC. z\nD. w\nAnswer:",
            p.MultipleChoicePrompt("high_school_biology", "Which?", new[] { "x", "y", "z", "w" }));
        Assert.Equal("The following are multiple choice questions (with answers).\nWhich?\nA. x\nB. y\nAnswer:",
            p.MultipleChoicePrompt("", "Which?", new[] { "x", "y" }));
        var code = MbppReader.Read(DatasetFiles.Fixture("mbpp", "test.jsonl"))[0];
        string prompt = new CodeTask("code", new[] { code }, null!).Prompt(code);
        Assert.Equal("You are an expert Python programmer, and here is your task: Write a function to return the sum of the squares of a list of integers. " +
                     "Your code should pass these tests:\nassert sum_of_squares([1, 2, 3]) == 14\nassert sum_of_squares([]) == 0\nassert sum_of_squares([-4]) == 16\n[BEGIN]\n", prompt);
        var item = MlqaReader.Read(DatasetFiles.Fixture("mlqa", "test.jsonl"))[1];
        Assert.Equal($"Context: {item.Context}\nQuestion: {item.Question}\nAnswer:", new ComprehensionTask("c", "en", new[] { item }).Prompt(item));
    }

    [Fact]
    public void SlotsAreFilledOnceSoValuesMayContainBraces()
    {
        Assert.Equal("Q: what is {answer}?\nA:", EvalPrompts.Fill("Q: {question}\nA:", ("question", "what is {answer}?"), ("answer", "no")));
        Assert.Equal("{unknown} x", EvalPrompts.Fill("{unknown} {a}", ("a", "x")));
    }

    [Fact]
    public void TemplatesLoadFromJson()
    {
        using var f = new DatasetFiles.Temp("p.json", "{\"Math\": \"Q: {question}\\nA:\", \"ShotSeparator\": \"\\n###\\n\"}");
        var p = EvalPrompts.Load(f.Path);
        Assert.Equal("Q: {question}\nA:", p.Math);
        Assert.Equal("\n###\n", p.ShotSeparator);
        Assert.Equal(EvalPrompts.Default.Code, p.Code);
        Assert.Equal("Question: {question}\nAnswer:", EvalPrompts.Default.Math);   // the default is not modified
        using var bad = new DatasetFiles.Temp("p.json", "{\"Maths\": \"x\"}");
        Assert.Contains("unknown template \"Maths\"", Assert.Throws<LetheException>(() => EvalPrompts.Load(bad.Path)).Message);
    }

    [Fact]
    public void TheSuiteLayoutAndTrainSplits()
    {
        Assert.Equal(13, EvalSuite.DemoLayout.Count);
        Assert.Contains(("sensitive_mc", "sensitive/mc_test.jsonl"), EvalSuite.DemoLayout);
        Assert.True(EvalSuite.IsTaskName("comprehension.vi"));
        Assert.False(EvalSuite.IsTaskName("comprehension."));
        Assert.False(EvalSuite.IsTaskName("mmlu"));
        Assert.Equal(DatasetFiles.Fixture("gsm8k", "train.jsonl"), EvalSuite.TrainSplitOf(DatasetFiles.Fixture("gsm8k", "test.jsonl")));
        Assert.Contains("shots needs a train split", Assert.Throws<LetheException>(() => EvalSuite.TrainSplitOf(DatasetFiles.Fixture("mmlu", "test.jsonl"))).Message);
        var task = EvalSuite.CreateTask("math", DatasetFiles.Fixture("gsm8k", "test.jsonl"), new TaskSettings { Limit = 2, Shots = 1 });
        Assert.Equal(2, task.Count);
        Assert.StartsWith("Question: Tom reads", ((MathTask)task).Prompt(Gsm8kReader.Read(DatasetFiles.Fixture("gsm8k", "test.jsonl"))[0]));
    }
}
