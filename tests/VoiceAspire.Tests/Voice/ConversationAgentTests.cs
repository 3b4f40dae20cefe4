using VoiceAspire.Api.Conversation;

namespace VoiceAspire.Tests.Voice;

/// <summary>The rule-based intent router and the OpenAI-client agent against a local chat-completions server.</summary>
public class ConversationAgentTests
{
    private static readonly RuleBasedIntentRouter Rules = new(TimeProvider.System);

    [Theory]
    [InlineData("set a timer for five minutes", "set_timer", "duration_seconds", "300")]
    [InlineData("please start a timer for 90 seconds", "set_timer", "duration_seconds", "90")]
    [InlineData("remind me to call my mother", "create_reminder", "task", "call my mother")]
    [InlineData("what's the weather in paris today", "get_weather", "location", "paris")]
    [InlineData("what time is it", "get_time", null, null)]
    [InlineData("what is the date", "get_date", null, null)]
    [InlineData("hello there", "greeting", null, null)]
    [InlineData("okay goodbye", "goodbye", null, null)]
    [InlineData("what can you do", "help", null, null)]
    [InlineData("and so my fellow americans ask not what your country can do for you", "unknown", null, null)]
    public async Task Rules_read_the_intent_and_its_parameters(string text, string intent, string? parameter, string? value)
    {
        var reply = await Rules.ReplyAsync(text, [], CancellationToken.None);
        Assert.Equal(intent, reply.Intent.Name);
        Assert.Equal(RuleBasedIntentRouter.AgentName, reply.Agent);
        Assert.False(string.IsNullOrWhiteSpace(reply.Response));
        if (parameter is not null) Assert.Equal(value, reply.Intent.Parameters[parameter]);
        Assert.InRange(reply.Intent.Confidence, intent == "unknown" ? 0 : 0.5, intent == "unknown" ? 0.5 : 1);
    }

    [Fact]
    public async Task Rules_answer_the_time_from_the_clock()
    {
        var clock = new FixedTime(new DateTimeOffset(2026, 12, 4, 14, 5, 0, TimeSpan.Zero));
        var reply = await new RuleBasedIntentRouter(clock).ReplyAsync("what time is it", [], CancellationToken.None);
        Assert.Equal("It is 14:05.", reply.Response);
        Assert.False(reply.Intent.IsActionable);
        Assert.True((await Rules.ReplyAsync("set a timer for two hours", [], CancellationToken.None)).Intent.IsActionable);
    }

    [Fact]
    public async Task OpenAI_agent_sends_history_and_transcript_and_maps_the_json_reply()
    {
        await using var server = await ChatCompletionsServer.StartAsync();
        server.Reply = _ => "{\"intent\":\"set_timer\",\"confidence\":0.93,\"parameters\":{\"duration_seconds\":300},\"actionable\":true,\"response\":\"Five minutes, starting now.\"}";
        var agent = new OpenAIConversationAgent(new OpenAIAgentOptions { Endpoint = server.Endpoint.ToString(), ApiKey = ChatCompletionsServer.Key, Model = "gpt-test" });
        ConversationMessage[] history =
        [
            new(ConversationMessage.User, "hello", DateTimeOffset.UtcNow),
            new(ConversationMessage.Assistant, "Hi! How can I help?", DateTimeOffset.UtcNow),
        ];

        var reply = await agent.ReplyAsync("set a timer for five minutes", history, CancellationToken.None);

        Assert.Equal("set_timer", reply.Intent.Name);
        Assert.Equal(0.93, reply.Intent.Confidence);
        Assert.Equal("300", reply.Intent.Parameters["duration_seconds"]);
        Assert.True(reply.Intent.IsActionable);
        Assert.Equal("Five minutes, starting now.", reply.Response);
        Assert.Equal(OpenAIConversationAgent.AgentName, reply.Agent);
        var request = Assert.Single(server.Requests);
        Assert.Equal("gpt-test", request["model"]!.GetValue<string>());
        Assert.Equal("json_object", request["response_format"]!["type"]!.GetValue<string>());
        var roles = request["messages"]!.AsArray().Select(m => m!["role"]!.GetValue<string>()).ToArray();
        Assert.Equal(["system", "user", "assistant", "user"], roles);
        Assert.Equal("set a timer for five minutes", ChatCompletionsServer.LastUserMessage(request));
    }

    [Theory]
    [InlineData(401, ConversationException.AgentAuthFailed)]
    [InlineData(429, ConversationException.AgentRateLimited)]
    [InlineData(500, ConversationException.AgentUnavailable)]
    public async Task OpenAI_agent_failures_are_typed(int status, string code)
    {
        await using var server = await ChatCompletionsServer.StartAsync();
        server.Status = status;
        var agent = new OpenAIConversationAgent(new OpenAIAgentOptions
        {
            Endpoint = server.Endpoint.ToString(), ApiKey = ChatCompletionsServer.Key, Model = "gpt-test", MaxRetries = 0,
        });
        var e = await Assert.ThrowsAsync<ConversationException>(() => agent.ReplyAsync("hello", [], CancellationToken.None));
        Assert.Equal(code, e.Code);
        Assert.DoesNotContain(ChatCompletionsServer.Key, e.Message);
    }

    [Fact]
    public async Task OpenAI_agent_wrong_key_and_unreachable_endpoint_and_non_json_reply()
    {
        await using var server = await ChatCompletionsServer.StartAsync();
        var wrongKey = new OpenAIConversationAgent(new OpenAIAgentOptions { Endpoint = server.Endpoint.ToString(), ApiKey = "sk-wrong", Model = "m", MaxRetries = 0 });
        Assert.Equal(ConversationException.AgentAuthFailed, (await Assert.ThrowsAsync<ConversationException>(() => wrongKey.ReplyAsync("hi", [], CancellationToken.None))).Code);

        var unreachable = new OpenAIConversationAgent(new OpenAIAgentOptions
        {
            Endpoint = $"http://127.0.0.1:{ServiceProcess.FreePort()}/v1/", ApiKey = "k", Model = "m", MaxRetries = 0, TimeoutSeconds = 5,
        });
        Assert.Equal(ConversationException.AgentUnavailable, (await Assert.ThrowsAsync<ConversationException>(() => unreachable.ReplyAsync("hi", [], CancellationToken.None))).Code);

        server.Reply = _ => "Sure, here is a plain sentence instead of JSON.";
        var agent = new OpenAIConversationAgent(new OpenAIAgentOptions { Endpoint = server.Endpoint.ToString(), ApiKey = ChatCompletionsServer.Key, Model = "m" });
        Assert.Equal(ConversationException.AgentBadReply, (await Assert.ThrowsAsync<ConversationException>(() => agent.ReplyAsync("hi", [], CancellationToken.None))).Code);
    }

    [Fact]
    public void Options_are_validated()
    {
        var validator = new ConversationOptionsValidator();
        Assert.True(validator.Validate(new ConversationOptions()).IsValid);
        Assert.False(validator.Validate(new ConversationOptions { OpenAI = { ApiKey = "k" } }).IsValid); // no model
        Assert.False(validator.Validate(new ConversationOptions { OpenAI = { Model = "m" } }).IsValid); // no key
        Assert.False(validator.Validate(new ConversationOptions { OpenAI = { Model = "m", ApiKey = "k", Endpoint = "ftp://x" } }).IsValid);
        Assert.True(validator.Validate(new ConversationOptions { OpenAI = { Model = "m", ApiKey = "k", Endpoint = "https://r.openai.azure.com/openai/v1/" } }).IsValid);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;

        public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;
    }
}
