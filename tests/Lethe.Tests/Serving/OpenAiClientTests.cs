// A real client against a real `lethe serve`: the official `openai` npm package (tools/openai-client,
// installed by the test into ~/.cache/lethe/npm like the tokenizer references; no npm is a failure,
// never a skip) lists the models, asks for a chat completion, streams one, asks for a completion
// (sampled with a seed, streamed and not) and sends an unknown model name. The server is the
// `lethe serve` command in its own process on a free loopback port. What the client receives must
// equal what Lethe's generator answers for the same prompt and sampling.
using System.Text.Json.Nodes;
using Lethe.Models.Generation;
using Lethe.Serving;
using Lethe.Tests.Tokenizers;
using Xunit;

namespace Lethe.Tests.Serving;

public class OpenAiClientTests
{
    [Fact]
    public async Task TheOfficialOpenAiClientTalksToLetheServe()
    {
        string client = JsReference.InstallFolder(Path.Combine(JsReference.RepoRoot, "tools", "openai-client"));
        var (server, url) = await ServerFixture.StartServeProcessAsync("--max-tokens", "64");
        try
        {
            var (code, output) = JsReference.Run("node", new[] { "client.mjs", url, "lethe-demo" }, client, TimeSpan.FromMinutes(3));
            Assert.True(code == 0, "node client.mjs failed:\n" + output);
            var seen = JsonNode.Parse(output)!;

            Assert.Equal(new[] { "lethe-demo" }, seen["models"]!.AsArray().Select(n => (string)n!).ToArray());
            var ids = ChatPrompt.Encode(ServerFixture.Tokenizer, new[] { new Lethe.Tokenizers.ChatMessage("user", "What is 2 + 3?") });
            string answer = ServerFixture.Expected(ids, 12, ChatPrompt.DefaultStops(ServerFixture.Tokenizer));
            Assert.Equal(answer, (string?)seen["chat"]!["content"]);
            Assert.Equal(answer, (string?)seen["stream"]!["content"]);
            Assert.Equal((string?)seen["chat"]!["finish_reason"], (string?)seen["stream"]!["finish_reason"]);
            Assert.Contains((string?)seen["chat"]!["finish_reason"], new[] { "stop", "length" });
            Assert.Equal(ids.Length, (int)seen["chat"]!["usage"]!["prompt_tokens"]!);
            Assert.Equal((int)seen["chat"]!["usage"]!["completion_tokens"]!, (int)seen["stream"]!["usage"]!["completion_tokens"]!);
            Assert.True((int)seen["stream"]!["chunks"]! >= 2);

            var sampling = new SamplingOptions { Temperature = 0.7f, Seed = 3 };
            string text = ServerFixture.Expected(ServerFixture.Tokenizer.Encode("The river", addSpecialTokens: true), 8, new[] { "\n" }, sampling);
            Assert.Equal(text, (string?)seen["completion"]!["text"]);
            Assert.Equal(text, (string?)seen["completionStream"]);

            Assert.Equal(400, (int)seen["badModel"]!["status"]!);
            Assert.Contains("no-such-model", (string?)seen["badModel"]!["message"]);
            Assert.Equal("model", (string?)seen["badModel"]!["param"]);
            Assert.False(server.HasExited);
        }
        finally { await ServerFixture.StopAsync(server); }
    }
}
