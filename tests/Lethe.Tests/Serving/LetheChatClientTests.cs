// LetheChatClient through Microsoft.Extensions.AI's IChatClient only (as a .NET application holds
// it): a chat answer equals what Lethe's generator answers for the same conversation, streaming
// adds up to the same text with the same finish reason and usage, options (max tokens, sampling,
// stop sequences) are honoured, concurrent calls answer as if alone, and a guard that abstains
// answers with its refusal and ChatFinishReason.ContentFilter.
using Lethe.Models.Generation;
using Lethe.Serving;
using Lethe.Unlearning;
using Microsoft.Extensions.AI;
using Xunit;

namespace Lethe.Tests.Serving;

public class LetheChatClientTests
{
    private static readonly ChatMessage[] Conversation = { new(ChatRole.System, "Answer briefly."), new(ChatRole.User, "What is 2 + 3?") };

    private static string ExpectedAnswer(int maxTokens, SamplingOptions? sampling = null, params string[] stops)
    {
        var ids = ChatPrompt.Encode(ServerFixture.Tokenizer, Conversation.Select(m => new Lethe.Tokenizers.ChatMessage(m.Role.Value, m.Text)).ToList());
        return ServerFixture.Expected(ids, maxTokens, stops.Concat(ChatPrompt.DefaultStops(ServerFixture.Tokenizer)).ToList(), sampling);
    }

    [Fact]
    public async Task AnswersAndStreamsThroughTheInterface()
    {
        using IChatClient client = new LetheChatClient(ServerFixture.Model, ServerFixture.Tokenizer);
        Assert.Equal("lethe-demo", client.GetService<ChatClientMetadata>()!.DefaultModelId);

        var options = new ChatOptions { MaxOutputTokens = 12 };
        var response = await client.GetResponseAsync(Conversation, options);
        Assert.Equal(ExpectedAnswer(12), response.Text);
        Assert.Equal(ChatRole.Assistant, response.Messages.Single().Role);
        Assert.True(response.FinishReason == ChatFinishReason.Stop || response.FinishReason == ChatFinishReason.Length);
        Assert.True(response.Usage!.OutputTokenCount is > 0 and <= 12);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync(Conversation, options)) updates.Add(u);
        Assert.Equal(response.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(response.FinishReason, updates.Last(u => u.FinishReason is not null).FinishReason);
        var streamed = updates.ToChatResponse();
        Assert.Equal(response.Usage.OutputTokenCount, streamed.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task SamplingOptionsAndConcurrentCallsBehaveAsAlone()
    {
        using IChatClient client = new LetheChatClient(ServerFixture.Model, ServerFixture.Tokenizer);
        var options = new ChatOptions { MaxOutputTokens = 10, Temperature = 0.9f, TopP = 0.95f, Seed = 11 };
        var sampling = new SamplingOptions { Temperature = 0.9f, TopP = 0.95f, Seed = 11 };
        string expected = ExpectedAnswer(10, sampling);
        var answers = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => client.GetResponseAsync(Conversation, options)));
        Assert.All(answers, a => Assert.Equal(expected, a.Text));

        var greedy = (await client.GetResponseAsync(Conversation, new ChatOptions { MaxOutputTokens = 12 })).Text;
        Assert.True(greedy.Length >= 2, $"the greedy answer '{greedy}' is too short to cut");
        string stop = greedy.Substring(1, 1);
        var cut = await client.GetResponseAsync(Conversation, new ChatOptions { MaxOutputTokens = 12, StopSequences = new List<string> { stop } });
        Assert.Equal(greedy[..greedy.IndexOf(stop, StringComparison.Ordinal)], cut.Text);
        Assert.Equal(ChatFinishReason.Stop, cut.FinishReason);
    }

    [Fact]
    public async Task AnAbstainingGuardGivesTheRefusalAsContentFilter()
    {
        int width = ServerFixture.Model.Config.IntermediateSize;
        var box = new HypercubeFit(new double[width], Enumerable.Repeat(1e9, width).ToArray(), 1);
        var guard = new KeySpaceDetector(new Dictionary<int, HypercubeFit> { [7] = box }, alpha: 1).CreateIntervention(ServerFixture.Model);
        using IChatClient client = new LetheChatClient(ServerFixture.Model, ServerFixture.Tokenizer, guard);
        var response = await client.GetResponseAsync(Conversation, new ChatOptions { MaxOutputTokens = 8 });
        Assert.Equal(InferenceIntervention.DefaultRefusal, response.Text);
        Assert.Equal(ChatFinishReason.ContentFilter, response.FinishReason);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync(Conversation, new ChatOptions { MaxOutputTokens = 8 })) updates.Add(u);
        Assert.Equal(InferenceIntervention.DefaultRefusal, string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(ChatFinishReason.ContentFilter, updates.Last().FinishReason);
    }
}
