// The OpenAI-compatible server over HTTP on loopback (in-process, shipped model): the endpoints'
// shapes, concurrent requests answered as if alone, and bad input — malformed JSON, a field of the
// wrong type, an unknown model, max_tokens over the cap, a body over the limit (400/413 with an
// OpenAI error object), a full queue (429), a client that disconnects (its request leaves the
// batch), a failure inside the model (500 naming the request id) — after each of which the server
// still answers. An abstaining guard answers with its refusal and finish_reason content_filter.
using System.Text.Json.Nodes;
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Serving;
using Lethe.Unlearning;
using Xunit;

namespace Lethe.Tests.Serving;

public class OpenAiServerTests
{
    private const string Chat = """{"model":"lethe-demo","messages":[{"role":"user","content":"What is 2 + 3?"}],"max_tokens":12}""";

    private static async Task AssertServes(ServerFixture f)
    {
        var (status, body, _) = await f.PostAsync("/v1/completions", """{"model":"lethe-demo","prompt":"The river","max_tokens":3}""");
        Assert.Equal(200, status);
        Assert.Equal("text_completion", (string?)body!["object"]);
    }

    private static void AssertError(int expectedStatus, (int Status, JsonNode? Body, HttpResponseMessage Response) r, string? param = null, string? messagePart = null)
    {
        Assert.Equal(expectedStatus, r.Status);
        var error = r.Body!["error"]!;
        Assert.False(string.IsNullOrWhiteSpace((string?)error["message"]));
        Assert.NotNull((string?)error["type"]);
        if (param is not null) Assert.Equal(param, (string?)error["param"]);
        if (messagePart is not null) Assert.Contains(messagePart, (string?)error["message"]);
        Assert.True(r.Response.Headers.Contains("x-request-id"));
    }

    [Fact]
    public async Task ModelsChatAndCompletionsHaveOpenAiShapes()
    {
        await using var f = await ServerFixture.StartAsync();
        var models = JsonNode.Parse(await f.Http.GetStringAsync("/v1/models"))!;
        Assert.Equal("lethe-demo", (string?)models["data"]![0]!["id"]);

        var (status, chat, _) = await f.PostAsync("/v1/chat/completions", Chat);
        Assert.Equal(200, status);
        Assert.Equal("chat.completion", (string?)chat!["object"]);
        var choice = chat["choices"]![0]!;
        Assert.Equal("assistant", (string?)choice["message"]!["role"]);
        Assert.Contains((string?)choice["finish_reason"], new[] { "stop", "length" });
        // The same prompt through the library's generator gives the same text (greedy).
        var ids = ChatPrompt.Encode(ServerFixture.Tokenizer, new[] { new Lethe.Tokenizers.ChatMessage("user", "What is 2 + 3?") });
        Assert.Equal(ids.Length, (int)chat["usage"]!["prompt_tokens"]!);
        string expected = ServerFixture.Expected(ids, 12, ChatPrompt.DefaultStops(ServerFixture.Tokenizer));
        Assert.Equal(expected, (string?)choice["message"]!["content"]);

        var (s2, text, _) = await f.PostAsync("/v1/completions", """{"model":"lethe-demo","prompt":"The river","max_tokens":5,"stop":["\n"]}""");
        Assert.Equal(200, s2);
        Assert.Equal(ServerFixture.Expected(ServerFixture.Tokenizer.Encode("The river", addSpecialTokens: true), 5, new[] { "\n" }), (string?)text!["choices"]![0]!["text"]);
    }

    [Fact]
    public async Task ConcurrentRequestsGetWhatTheyGetAlone()
    {
        await using var f = await ServerFixture.StartAsync(new SchedulerOptions { MaxBatch = 4 });
        string[] prompts = { "The river", "Question: What is 7 + 5?\nAnswer:", "Mira", "def add(a, b):" };
        string Body(string p) => new JsonObject { ["model"] = "lethe-demo", ["prompt"] = p, ["max_tokens"] = 10, ["temperature"] = 0.8, ["seed"] = 7 }.ToJsonString();
        var alone = new List<string>();
        foreach (var p in prompts) alone.Add((string)(await f.PostAsync("/v1/completions", Body(p))).Body!["choices"]![0]!["text"]!);
        var together = await Task.WhenAll(prompts.Select(async p => (string)(await f.PostAsync("/v1/completions", Body(p))).Body!["choices"]![0]!["text"]!));
        Assert.Equal(alone, together);
    }

    [Fact]
    public async Task StreamedChunksAddUpToTheWholeAnswer()
    {
        await using var f = await ServerFixture.StartAsync();
        string whole = (string)(await f.PostAsync("/v1/chat/completions", Chat)).Body!["choices"]![0]!["message"]!["content"]!;
        var response = await f.Http.PostAsync("/v1/chat/completions", new StringContent(Chat.Replace("\"max_tokens\":12", "\"max_tokens\":12,\"stream\":true"), System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", lines[^1]);
        var chunks = lines[..^1].Select(l => JsonNode.Parse(l["data: ".Length..])!).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", (string?)c["object"]));
        Assert.Equal(whole, string.Concat(chunks.Select(c => (string?)c["choices"]![0]!["delta"]!["content"] ?? "")));
        Assert.NotNull((string?)chunks[^1]["choices"]![0]!["finish_reason"]);
    }

    [Fact]
    public async Task BadRequestsGet400WithAnErrorObjectAndTheServerGoesOn()
    {
        await using var f = await ServerFixture.StartAsync(new SchedulerOptions { MaxTokens = 64 }, maxBody: 4096);
        AssertError(400, await f.PostAsync("/v1/chat/completions", "{\"model\": \"lethe-demo\", \"messages\": ["), messagePart: "not valid JSON");
        AssertError(400, await f.PostAsync("/v1/chat/completions", Chat.Replace("\"max_tokens\":12", "\"max_tokens\":\"twelve\"")), param: "max_tokens");
        AssertError(400, await f.PostAsync("/v1/chat/completions", Chat.Replace("\"max_tokens\":12", "\"temperature\":[1]")), param: "temperature");
        AssertError(400, await f.PostAsync("/v1/chat/completions", Chat.Replace("lethe-demo", "gpt-4o")), param: "model", messagePart: "gpt-4o");
        AssertError(400, await f.PostAsync("/v1/chat/completions", Chat.Replace("\"max_tokens\":12", "\"max_tokens\":65")), param: "max_tokens");
        AssertError(400, await f.PostAsync("/v1/chat/completions", """{"model":"lethe-demo","messages":[]}"""), param: "messages");
        AssertError(400, await f.PostAsync("/v1/chat/completions", """{"model":"lethe-demo","messages":[{"role":"wizard","content":"hi"}]}"""), param: "messages[0].role");
        AssertError(400, await f.PostAsync("/v1/completions", """{"model":"lethe-demo","prompt":42}"""), param: "prompt");
        AssertError(400, await f.PostAsync("/v1/completions", """{"model":"lethe-demo","prompt":"x","top_p":0}"""), param: "top_p");
        AssertError(400, await f.PostAsync("/v1/completions", """{"model":"lethe-demo","prompt":"x","stop":[1,2]}"""), param: "stop");
        AssertError(400, await f.PostAsync("/v1/completions", "[]"));
        AssertError(400, await f.PostAsync("/v1/completions", ""));
        string longPrompt = string.Concat(Enumerable.Repeat("river ", 600));
        AssertError(400, await f.PostAsync("/v1/completions", new JsonObject { ["model"] = "lethe-demo", ["prompt"] = longPrompt[..3000], ["max_tokens"] = 64 }.ToJsonString()), messagePart: "context");
        AssertError(413, await f.PostAsync("/v1/completions", new JsonObject { ["model"] = "lethe-demo", ["prompt"] = new string('a', 5000) }.ToJsonString()));
        AssertError(404, await f.PostAsync("/v1/embeddings", "{}"));
        await AssertServes(f);
    }

    /// <summary>Sleeps in every forward pass, so requests stay in the batch long enough to be observed.</summary>
    private static HookIntervention Slow(int ms) => new(h => h.Add(HookNames.Embed, (_, _) => { Thread.Sleep(ms); return null; }));

    [Fact]
    public async Task AFullQueueGets429()
    {
        await using var f = await ServerFixture.StartAsync(new SchedulerOptions { MaxBatch = 1, MaxQueue = 1 }, Slow(40));
        string body = """{"model":"lethe-demo","prompt":"The river","max_tokens":40,"stop":["never-appears"]}""";
        var first = f.PostAsync("/v1/completions", body);     // takes the batch's one row
        while (f.Scheduler.Running == 0) await Task.Delay(10);
        var second = f.PostAsync("/v1/completions", body);    // waits in the queue
        while (f.Scheduler.Queued == 0) await Task.Delay(10);
        AssertError(429, await f.PostAsync("/v1/completions", body), messagePart: "busy");
        Assert.Equal(200, (await first).Status);
        Assert.Equal(200, (await second).Status);
    }

    [Fact]
    public async Task AClientThatDisconnectsLeavesTheBatch()
    {
        await using var f = await ServerFixture.StartAsync(new SchedulerOptions { MaxBatch = 2 }, Slow(40));
        using var cts = new CancellationTokenSource();
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent("""{"model":"lethe-demo","prompt":"The river","max_tokens":200,"stream":true}""", System.Text.Encoding.UTF8, "application/json"),
        };
        var response = await f.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
        Assert.StartsWith("data: ", await reader.ReadLineAsync(cts.Token));
        Assert.Equal(1, f.Scheduler.Running);
        cts.Cancel();
        response.Dispose();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (f.Scheduler.Running > 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(0, f.Scheduler.Running);   // gone long before its 200 tokens (40 ms a pass: 8 s)
        await AssertServes(f);
    }

    [Fact]
    public async Task AnInternalFailureIs500WithTheRequestIdAndTheServerGoesOn()
    {
        bool fail = false;
        var failing = new HookIntervention(h => h.Add(HookNames.Embed, (_, _) => Volatile.Read(ref fail) ? throw new InvalidOperationException("injected failure") : null));
        await using var f = await ServerFixture.StartAsync(intervention: failing);
        Volatile.Write(ref fail, true);
        var r = await f.PostAsync("/v1/chat/completions", Chat);
        AssertError(500, r);
        string id = r.Response.Headers.GetValues("x-request-id").Single();
        Assert.Contains(id, (string?)r.Body!["error"]!["message"]);
        Volatile.Write(ref fail, false);
        await AssertServes(f);
    }

    [Fact]
    public async Task AnAbstainingGuardAnswersWithItsRefusal()
    {
        // A Key Space Detection box that holds every key vector at layer 7: every query is detected.
        int width = ServerFixture.Model.Config.IntermediateSize;
        var box = new HypercubeFit(new double[width], Enumerable.Repeat(1e9, width).ToArray(), 1);
        var guard = new KeySpaceDetector(new Dictionary<int, HypercubeFit> { [7] = box }, alpha: 1).CreateIntervention(ServerFixture.Model);
        await using var f = await ServerFixture.StartAsync(intervention: guard);
        var (status, body, _) = await f.PostAsync("/v1/chat/completions", Chat);
        Assert.Equal(200, status);
        var choice = body!["choices"]![0]!;
        Assert.Equal("content_filter", (string?)choice["finish_reason"]);
        Assert.Equal(InferenceIntervention.DefaultRefusal, (string?)choice["message"]!["content"]);
        Assert.Equal(InferenceIntervention.DefaultRefusal, (string?)choice["message"]!["refusal"]);
        var stream = await (await f.Http.PostAsync("/v1/completions", new StringContent("""{"model":"lethe-demo","prompt":"The river","max_tokens":5,"stream":true}""", System.Text.Encoding.UTF8, "application/json"))).Content.ReadAsStringAsync();
        Assert.Contains(InferenceIntervention.DefaultRefusal, stream);
        Assert.Contains("\"finish_reason\":\"content_filter\"", stream);
    }
}
