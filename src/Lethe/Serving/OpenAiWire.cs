// The OpenAI wire format Lethe speaks, HTTP-free: request bodies of POST /v1/chat/completions and
// POST /v1/completions (the fields Lethe honours: model, messages / prompt, max_tokens (or
// max_completion_tokens), temperature, top_p, stop, seed, stream, stream_options.include_usage, n = 1),
// parsed strictly — bad JSON, a field of the wrong type or an out-of-range value is an
// OpenAiError (HTTP 400) naming the field; fields Lethe does not use are ignored, as OpenAI clients
// send many. Responses are built as JSON text: chat.completion, chat.completion.chunk (server-sent
// events), text_completion, the model list and the error object {"error": {message, type, param, code}}.
// finish_reason is "stop" (end of sequence or a stop string), "length" (max_tokens) or
// "content_filter" (an unlearning guard abstained; the text is its refusal).
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Lethe.Models.Generation;

namespace Lethe.Serving;

/// <summary>An error a client caused, with the HTTP status and the OpenAI error fields it is answered with.</summary>
public sealed class OpenAiError(int status, string message, string? param = null, string type = "invalid_request_error", string? code = null) : Exception(message)
{
    public int Status { get; } = status;
    public string? Param { get; } = param;
    public string Type { get; } = type;
    public string? Code { get; } = code;

    public string ToJson() => OpenAiWire.ErrorJson(Message, Type, Param, Code);
}

public sealed class WireMessage
{
    [JsonPropertyName("role")] public string? Role { get; set; }
    /// <summary>A string, or an array of content parts of which the "text" ones are read.</summary>
    [JsonPropertyName("content")] public JsonElement Content { get; set; }
}

public sealed class StreamOptions
{
    [JsonPropertyName("include_usage")] public bool? IncludeUsage { get; set; }
}

/// <summary>The fields both endpoints share.</summary>
public class WireRequest
{
    [JsonPropertyName("model")] public string? Model { get; set; }
    [JsonPropertyName("max_tokens")] public int? MaxTokens { get; set; }
    [JsonPropertyName("max_completion_tokens")] public int? MaxCompletionTokens { get; set; }
    [JsonPropertyName("temperature")] public float? Temperature { get; set; }
    [JsonPropertyName("top_p")] public float? TopP { get; set; }
    /// <summary>A string or an array of strings.</summary>
    [JsonPropertyName("stop")] public JsonElement Stop { get; set; }
    [JsonPropertyName("seed")] public long? Seed { get; set; }
    [JsonPropertyName("stream")] public bool? Stream { get; set; }
    [JsonPropertyName("stream_options")] public StreamOptions? StreamOptions { get; set; }
    [JsonPropertyName("n")] public int? N { get; set; }
}

public sealed class ChatRequest : WireRequest
{
    [JsonPropertyName("messages")] public List<WireMessage>? Messages { get; set; }
}

public sealed class TextRequest : WireRequest
{
    /// <summary>A string or an array of one string.</summary>
    [JsonPropertyName("prompt")] public JsonElement Prompt { get; set; }
}

public static class OpenAiWire
{
    private static readonly JsonSerializerOptions Strict = new() { AllowTrailingCommas = false, NumberHandling = JsonNumberHandling.Strict };

    // Responses keep text as it is ("+", "<", Chinese, Hindi) instead of \uXXXX escapes: the same
    // JSON to a parser, readable in a log or curl. Only for API bodies, never embedded in HTML.
    private static readonly JsonSerializerOptions Out = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Parses a request body; malformed JSON or a field of the wrong type is an OpenAiError (400) naming the field.</summary>
    public static T Parse<T>(ReadOnlySpan<byte> body) where T : WireRequest
    {
        if (body.IsEmpty) throw new OpenAiError(400, "the request has no body; send a JSON object");
        T? request;
        try { request = JsonSerializer.Deserialize<T>(body, Strict); }
        catch (JsonException e)
        {
            string? field = e.Path is { Length: > 2 } p && p.StartsWith("$.") ? p[2..] : null;
            string message = field is not null && e.LineNumber is not null && e.InnerException is null && e.Message.Contains("could not be converted")
                ? $"'{field}' has the wrong type (see the OpenAI API reference for the field's type)"
                : $"the request body is not valid JSON for this endpoint: {e.Message}";
            throw new OpenAiError(400, message, field);
        }
        return request ?? throw new OpenAiError(400, "the request body is JSON null; send a JSON object");
    }

    /// <summary>The sampling options a request asks for (defaults: greedy, top_p 1, seed 0), checked.</summary>
    public static SamplingOptions Sampling(WireRequest r)
    {
        if (r.Temperature is { } t && !(t >= 0 && t <= 2)) throw new OpenAiError(400, $"temperature must lie in [0, 2], got {t}", "temperature");
        if (r.TopP is { } p && !(p > 0 && p <= 1)) throw new OpenAiError(400, $"top_p must lie in (0, 1], got {p}", "top_p");
        if (r.N is { } n && n != 1) throw new OpenAiError(400, $"n must be 1 (Lethe returns one choice), got {n}", "n");
        return new SamplingOptions { Temperature = r.Temperature ?? 0f, TopP = r.TopP ?? 1f, Seed = unchecked((ulong)(r.Seed ?? 0)) };
    }

    /// <summary>max_tokens (or max_completion_tokens), 1..cap; the cap when the request gives none.</summary>
    public static int MaxTokens(WireRequest r, int cap)
    {
        int? asked = r.MaxCompletionTokens ?? r.MaxTokens;
        string field = r.MaxCompletionTokens is not null ? "max_completion_tokens" : "max_tokens";
        if (asked is { } m && (m < 1 || m > cap)) throw new OpenAiError(400, $"{field} must lie in 1..{cap} on this server, got {m}", field);
        return asked ?? cap;
    }

    /// <summary>The stop strings (a string or an array of up to 4 strings).</summary>
    public static List<string> Stops(WireRequest r)
    {
        var stops = new List<string>();
        switch (r.Stop.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null: break;
            case JsonValueKind.String: stops.Add(r.Stop.GetString()!); break;
            case JsonValueKind.Array:
                foreach (var e in r.Stop.EnumerateArray())
                {
                    if (e.ValueKind != JsonValueKind.String) throw new OpenAiError(400, "stop must be a string or an array of strings", "stop");
                    stops.Add(e.GetString()!);
                }
                if (stops.Count > 4) throw new OpenAiError(400, $"stop holds at most 4 strings, got {stops.Count}", "stop");
                break;
            default: throw new OpenAiError(400, "stop must be a string or an array of strings", "stop");
        }
        return stops;
    }

    /// <summary>A chat request's messages as (role, text).</summary>
    public static List<Tokenizers.ChatMessage> Messages(ChatRequest r)
    {
        if (r.Messages is null || r.Messages.Count == 0) throw new OpenAiError(400, "messages must be a non-empty array", "messages");
        var result = new List<Tokenizers.ChatMessage>();
        for (int i = 0; i < r.Messages.Count; i++)
        {
            var m = r.Messages[i] ?? throw new OpenAiError(400, $"messages[{i}] is null", $"messages[{i}]");
            if (m.Role is not ("system" or "developer" or "user" or "assistant"))
                throw new OpenAiError(400, $"messages[{i}].role must be system, developer, user or assistant, got '{m.Role}'", $"messages[{i}].role");
            result.Add(new Tokenizers.ChatMessage(m.Role, ContentText(m.Content, $"messages[{i}].content")));
        }
        return result;
    }

    private static string ContentText(JsonElement content, string field)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String: return content.GetString()!;
            case JsonValueKind.Array:
                var sb = new System.Text.StringBuilder();
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
                        throw new OpenAiError(400, $"{field} parts must be objects with a type", field);
                    if (type.GetString() != "text") throw new OpenAiError(400, $"{field}: only text parts are supported, got '{type.GetString()}'", field);
                    if (!part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
                        throw new OpenAiError(400, $"{field}: a text part needs a string 'text'", field);
                    sb.Append(text.GetString());
                }
                return sb.ToString();
            default: throw new OpenAiError(400, $"{field} must be a string or an array of text parts", field);
        }
    }

    /// <summary>A completion request's prompt: a string, or an array holding one string.</summary>
    public static string PromptText(TextRequest r)
    {
        var p = r.Prompt;
        if (p.ValueKind == JsonValueKind.String) return p.GetString()!;
        if (p.ValueKind == JsonValueKind.Array && p.GetArrayLength() == 1 && p[0].ValueKind == JsonValueKind.String) return p[0].GetString()!;
        if (p.ValueKind == JsonValueKind.Array && p.GetArrayLength() > 1) throw new OpenAiError(400, "prompt: Lethe takes one prompt per request; send the others as separate requests", "prompt");
        throw new OpenAiError(400, "prompt must be a string", "prompt");
    }

    public static string? FinishReasonText(FinishReason reason) => reason switch
    {
        FinishReason.Length => "length",
        FinishReason.EndOfSequence or FinishReason.Stopped => "stop",
        FinishReason.Abstained => "content_filter",
        _ => null,
    };

    public static string ErrorJson(string message, string type, string? param, string? code) =>
        new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = code } }.ToJsonString(Out);

    public static string ModelsJson(string modelId, long created) => new JsonObject
    {
        ["object"] = "list",
        ["data"] = new JsonArray(new JsonObject { ["id"] = modelId, ["object"] = "model", ["created"] = created, ["owned_by"] = "lethe" }),
    }.ToJsonString(Out);

    public static JsonObject Usage(Finished f) => new()
    {
        ["prompt_tokens"] = f.PromptTokens, ["completion_tokens"] = f.CompletionTokens, ["total_tokens"] = f.PromptTokens + f.CompletionTokens,
    };

    /// <summary>A whole chat.completion (chat) or text_completion.</summary>
    public static string Response(bool chat, string id, string model, long created, string text, Finished f, bool refusal)
    {
        var choice = new JsonObject { ["index"] = 0 };
        if (chat) choice["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text, ["refusal"] = refusal ? text : null };
        else choice["text"] = text;
        choice["logprobs"] = null;
        choice["finish_reason"] = FinishReasonText(f.Reason);
        return new JsonObject
        {
            ["id"] = id, ["object"] = chat ? "chat.completion" : "text_completion", ["created"] = created, ["model"] = model,
            ["choices"] = new JsonArray(choice), ["usage"] = Usage(f),
        }.ToJsonString(Out);
    }

    /// <summary>The last chunk of a stream that asked for usage (stream_options.include_usage): no choices, the token counts.</summary>
    public static string UsageChunk(bool chat, string id, string model, long created, Finished end) => new JsonObject
    {
        ["id"] = id, ["object"] = chat ? "chat.completion.chunk" : "text_completion", ["created"] = created, ["model"] = model,
        ["choices"] = new JsonArray(), ["usage"] = Usage(end),
    }.ToJsonString(Out);

    /// <summary>One streamed chunk: a piece of text (the first with the assistant role) or the end (its finish reason); usage: null when the stream will end with a usage chunk.</summary>
    public static string Chunk(bool chat, string id, string model, long created, string? text, bool first, Finished? end, bool withUsage)
    {
        var choice = new JsonObject { ["index"] = 0 };
        if (chat)
        {
            var delta = new JsonObject();
            if (first) delta["role"] = "assistant";
            if (text is not null) delta["content"] = text;
            choice["delta"] = delta;
        }
        else choice["text"] = text ?? "";
        choice["logprobs"] = null;
        choice["finish_reason"] = end is null ? null : FinishReasonText(end.Reason);
        var chunk = new JsonObject
        {
            ["id"] = id, ["object"] = chat ? "chat.completion.chunk" : "text_completion", ["created"] = created, ["model"] = model,
            ["choices"] = new JsonArray(choice),
        };
        if (withUsage) chunk["usage"] = null;
        return chunk.ToJsonString(Out);
    }
}
