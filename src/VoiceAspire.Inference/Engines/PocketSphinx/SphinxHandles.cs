using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace VoiceAspire.Inference.Engines.PocketSphinx;

/// <summary>
/// Owns one <c>cmd_ln_t*</c> parsed with <c>cmd_ln_parse_r</c> plus the native UTF-8 argv it was
/// parsed from. SphinxBase keeps pointers into argv (they are its hash-table keys), so the argv block
/// is freed only when the configuration's reference count reaches zero. A decoder created from this
/// configuration holds a reference to this handle (see <see cref="SphinxDecoderHandle"/>), so the
/// configuration is released only after <c>ps_free</c>.
/// </summary>
internal sealed unsafe class SphinxConfigHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private byte** _argv;
    private int _argc;

    public SphinxConfigHandle() : base(ownsHandle: true)
    {
    }

    /// <summary>Parses name/value pairs against ps_args() (strict: unknown names fail). Null when SphinxBase rejects them.</summary>
    public static SphinxConfigHandle? Parse(IReadOnlyList<string> nameValuePairs)
    {
        if (nameValuePairs.Count % 2 != 0)
            throw new ArgumentException("Decoder arguments must be name/value pairs.", nameof(nameValuePairs));

        var handle = new SphinxConfigHandle();
        var argc = nameValuePairs.Count;
        var argv = (byte**)NativeMemory.AllocZeroed((nuint)Math.Max(1, argc), (nuint)sizeof(byte*));
        handle._argv = argv;
        handle._argc = argc;
        for (var i = 0; i < argc; i++)
        {
            var value = nameValuePairs[i];
            var length = Encoding.UTF8.GetByteCount(value);
            var bytes = (byte*)NativeMemory.Alloc((nuint)length + 1);
            Encoding.UTF8.GetBytes(value, new Span<byte>(bytes, length));
            bytes[length] = 0;
            argv[i] = bytes;
        }

        var config = SphinxNative.cmd_ln_parse_r(0, SphinxNative.ps_args(), argc, argv, strict: 1);
        if (config == 0)
        {
            handle.FreeArgv();
            handle.SetHandleAsInvalid();
            return null;
        }
        handle.SetHandle(config);
        return handle;
    }

    protected override bool ReleaseHandle()
    {
        var remaining = SphinxNative.cmd_ln_free_r(handle);
        // If something native still holds the configuration its keys still point into argv:
        // leaking a few hundred bytes is better than a use-after-free. Not expected (ps_free drops
        // the decoder's references before this runs).
        if (remaining <= 0) FreeArgv();
        return true;
    }

    private void FreeArgv()
    {
        if (_argv is null) return;
        for (var i = 0; i < _argc; i++)
            NativeMemory.Free(_argv[i]);
        NativeMemory.Free(_argv);
        _argv = null;
        _argc = 0;
    }
}

/// <summary>
/// Owns one <c>ps_decoder_t*</c> (released with <c>ps_free</c>). Keeps its configuration handle alive
/// (DangerousAddRef) until after <c>ps_free</c>, because the decoder retains the native configuration
/// whose keys live in the configuration handle's argv.
/// </summary>
internal sealed class SphinxDecoderHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private SphinxConfigHandle? _config;

    public SphinxDecoderHandle() : base(ownsHandle: true)
    {
    }

    /// <summary><c>ps_init(config)</c>; null when PocketSphinx refuses (missing or unreadable model files).</summary>
    public static SphinxDecoderHandle? Create(SphinxConfigHandle config)
    {
        var handle = new SphinxDecoderHandle();
        var added = false;
        config.DangerousAddRef(ref added);
        var decoder = SphinxNative.ps_init(config.DangerousGetHandle());
        if (decoder == 0)
        {
            config.DangerousRelease();
            handle.SetHandleAsInvalid();
            return null;
        }
        handle._config = config;
        handle.SetHandle(decoder);
        return handle;
    }

    protected override bool ReleaseHandle()
    {
        SphinxNative.ps_free(handle);
        var config = Interlocked.Exchange(ref _config, null);
        config?.DangerousRelease();
        return true;
    }
}
