using System.Buffers;
using System.Text;
using VoiceAspire.Redis;
using VoiceAspire.Redis.Protocol;
using static VoiceAspire.Tests.Redis.RespTestKit;

namespace VoiceAspire.Tests.Redis;

public sealed class RespParserTests
{
    public static TheoryData<string, string> ValidFrames => new()
    {
        { "+OK\r\n", "SimpleString:4F4B" },
        { "-ERR unknown command\r\n", "SimpleError:" + Convert.ToHexString(Bytes("ERR unknown command")) },
        { ":-42\r\n", "i:-42" },
        { ":+7\r\n", "i:7" },
        { "$5\r\nhe\r\no\r\n", "BulkString:" + Convert.ToHexString(Bytes("he\r\no")) },
        { "$0\r\n\r\n", "BulkString:" },
        { "$-1\r\n", "null" },
        { "*-1\r\n", "null" },
        { "_\r\n", "null" },
        { "#t\r\n", "b:True" },
        { "#f\r\n", "b:False" },
        { ",3.25\r\n", "d:3.25" },
        { ",-1.5e3\r\n", "d:-1500" },
        { ",inf\r\n", "d:∞" },
        { ",-inf\r\n", "d:-∞" },
        { ",nan\r\n", "d:nan" },
        { "(3492890328409238509324850943850943825024385\r\n", "n:3492890328409238509324850943850943825024385" },
        { "(-12\r\n", "n:-12" },
        { "!21\r\nSYNTAX invalid syntax\r\n", "BulkError:" + Convert.ToHexString(Bytes("SYNTAX invalid syntax")) },
        { "=15\r\ntxt:Some string\r\n", "v:txt:" + Convert.ToHexString(Bytes("Some string")) },
        { "*3\r\n:1\r\n$1\r\nx\r\n*0\r\n", "Array[i:1,BulkString:78,Array[]]" },
        { "%2\r\n+first\r\n:1\r\n+second\r\n#f\r\n", "Map[SimpleString:6669727374,i:1,SimpleString:7365636F6E64,b:False]" },
        { "~2\r\n+a\r\n_\r\n", "Set[SimpleString:61,null]" },
        { ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", "Push[BulkString:6D657373616765,BulkString:6368,BulkString:6869]" },
        { "|1\r\n+ttl\r\n:3600\r\n$2\r\nok\r\n", "|SimpleString:74746C,i:3600|BulkString:6F6B" },
        { "|1\r\n+a\r\n:1\r\n_\r\n", "|SimpleString:61,i:1|null" },
        { "*2\r\n|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n:2039\r\n:9543892\r\n",
            "Array[|SimpleString:6B65792D706F70756C6172697479,Map[BulkString:61,d:0.19]|i:2039,i:9543892]" },
    };

    [Theory]
    [MemberData(nameof(ValidFrames))]
    public void Parses_every_RESP2_and_RESP3_type(string frame, string expected)
    {
        var bytes = Bytes(frame);
        var value = TryParse(new ReadOnlySequence<byte>(bytes), out var consumed);
        Assert.NotNull(value);
        Assert.Equal(bytes.Length, consumed);
        Assert.Equal(expected.Replace("∞", "Infinity"), Describe(value).Replace("∞", "Infinity"));
    }

    [Theory]
    [MemberData(nameof(ValidFrames))]
    public void Every_split_point_parses_the_same_and_every_prefix_waits_for_more(string frame, string expected)
    {
        var bytes = Bytes(frame);
        var whole = Describe(TryParse(new ReadOnlySequence<byte>(bytes), out _)!);
        for (var split = 1; split < bytes.Length; split++)
        {
            // Truncated: not an error, just "need more".
            Assert.Null(TryParse(new ReadOnlySequence<byte>(bytes, 0, split), out _));
            // Split across segments, as a pipe hands over two socket reads.
            var value = TryParse(Segmented(bytes[..split], bytes[split..]), out var consumed);
            Assert.NotNull(value);
            Assert.Equal(bytes.Length, consumed);
            Assert.Equal(whole, Describe(value));
        }
        _ = expected;
    }

    [Fact]
    public void Fuzzed_random_frames_round_trip_whole_byte_by_byte_and_back_to_back()
    {
        var random = new Random(20261204);
        for (var i = 0; i < 400; i++)
        {
            var (frame, expected) = RandomFrame(random);
            Assert.Equal(expected, Describe(TryParse(new ReadOnlySequence<byte>(frame), out var consumed)!));
            Assert.Equal(frame.Length, consumed);

            // One byte per segment: the worst fragmentation a socket can produce.
            var value = TryParse(Segmented(frame.Select(b => new[] { b }).ToArray()), out consumed);
            Assert.Equal(expected, Describe(value!));

            // A random truncation needs more bytes.
            Assert.Null(TryParse(new ReadOnlySequence<byte>(frame, 0, random.Next(0, frame.Length)), out _));
        }

        // Pipelined replies: many frames in one buffer parse one after another, each ending where the next begins.
        var frames = Enumerable.Range(0, 200).Select(_ => RandomFrame(random)).ToArray();
        var sequence = new ReadOnlySequence<byte>(frames.SelectMany(f => f.Frame).ToArray());
        foreach (var (_, expected) in frames)
        {
            var value = TryParse(sequence, out var consumed);
            Assert.Equal(expected, Describe(value!));
            sequence = sequence.Slice(consumed);
        }
        Assert.True(sequence.IsEmpty);
    }

    [Fact]
    public void Fuzzed_garbage_and_mutated_frames_only_ever_fail_with_RespProtocolException()
    {
        var random = new Random(5);
        var outcomes = new Dictionary<string, int>();
        for (var i = 0; i < 3000; i++)
        {
            byte[] input;
            if (i % 2 == 0)
            {
                input = new byte[random.Next(1, 40)];
                random.NextBytes(input);
                if (random.Next(2) == 0) input[0] = (byte)"+-:$*_#,(!=%~>|"[random.Next(15)];
            }
            else
            {
                input = RandomFrame(random).Frame;
                input[random.Next(input.Length)] = (byte)random.Next(256); // one corrupted byte
            }
            string outcome;
            try
            {
                outcome = TryParse(new ReadOnlySequence<byte>(input), out var consumed) is null ? "incomplete" : "value";
                if (outcome == "value") Assert.InRange(consumed, 1, input.Length);
            }
            catch (RespProtocolException)
            {
                outcome = "protocol error";
            }
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }
        // All three outcomes occur: the fuzzer reaches the error paths, not only the happy ones.
        Assert.Equal(3, outcomes.Count);
    }

    [Theory]
    [InlineData("$5\r\nab\r\nxyz\r\n")]   // bulk not followed by CRLF
    [InlineData(":12a\r\n")]
    [InlineData(":\r\n")]
    [InlineData("#x\r\n")]
    [InlineData(",1.5.2\r\n")]
    [InlineData("(12x\r\n")]
    [InlineData("_x\r\n")]
    [InlineData("$-2\r\n")]
    [InlineData("*-5\r\n")]
    [InlineData("%-1\r\n")]
    [InlineData("$?\r\n")]                 // streamed strings: not supported
    [InlineData("=3\r\ntxt\r\n")]          // verbatim without format separator
    [InlineData("@oops\r\n")]
    [InlineData("$99999999999\r\n")]       // beyond the bulk limit
    [InlineData("*99999999\r\n")]          // beyond the aggregate limit
    public void Malformed_frames_throw_RespProtocolException(string frame) =>
        Assert.Throws<RespProtocolException>(() => TryParse(new ReadOnlySequence<byte>(Bytes(frame)), out _));

    [Fact]
    public void Limits_bound_nesting_and_unterminated_lines()
    {
        var deep = Bytes(string.Concat(Enumerable.Repeat("*1\r\n", 40)) + ":1\r\n");
        Assert.Throws<RespProtocolException>(() => TryParse(new ReadOnlySequence<byte>(deep), out _));

        // A line that never ends is refused once it is longer than any valid one, instead of being buffered forever.
        var endless = Bytes("+" + new string('a', RespLimits.Default.MaxLineLength + 10));
        Assert.Throws<RespProtocolException>(() => TryParse(new ReadOnlySequence<byte>(endless), out _));
        Assert.Null(TryParse(new ReadOnlySequence<byte>(Bytes("+" + new string('a', 1000))), out _));
    }

    [Fact]
    public void Writer_encodes_commands_as_arrays_of_bulk_strings()
    {
        var frame = RespWriter.Write("SET", ["k€y", new byte[] { 0, 13, 10 }, 42L, -7L, 0L, 1.5, long.MinValue, RedisValue.Null]);
        var bytes = frame.Buffer.AsSpan(0, frame.Length).ToArray();
        System.Buffers.ArrayPool<byte>.Shared.Return(frame.Buffer);
        var expected = "*9\r\n$3\r\nSET\r\n$5\r\nk€y\r\n$3\r\n\0\r\n\r\n$2\r\n42\r\n$2\r\n-7\r\n$1\r\n0\r\n$3\r\n1.5\r\n$20\r\n-9223372036854775808\r\n$0\r\n\r\n";
        Assert.Equal(expected, Encoding.UTF8.GetString(bytes));
        var parsed = TryParse(new ReadOnlySequence<byte>(bytes), out _)!;
        Assert.Equal(9, parsed.Items!.Length);
        Assert.Equal("k€y", parsed.Items[1].AsString());
    }
}
