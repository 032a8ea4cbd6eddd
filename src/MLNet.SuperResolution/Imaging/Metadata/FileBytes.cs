namespace MLNet.SuperResolution.Imaging.Metadata;

/// <summary>Bytes read by position, never more than asked for: a file region, or several regions seen as one.</summary>
internal interface IByteSource
{
    /// <summary>The number of bytes.</summary>
    long Length { get; }

    /// <summary>Copies <paramref name="destination"/>.Length bytes from <paramref name="position"/>; false when they run past the end.</summary>
    bool TryRead(long position, Span<byte> destination);
}

/// <summary>
/// A seekable stream from its position at construction to its end, read through a 64 KB window so that the many small
/// reads of a container walk cost one stream read each window. The stream's position is left where it was found.
/// </summary>
internal sealed class FileBytes : IByteSource
{
    private readonly Stream _stream;
    private readonly long _start;
    private readonly byte[] _window = new byte[1 << 16];
    private long _windowAt = -1;
    private int _windowLength;

    public FileBytes(Stream stream)
    {
        _stream = stream;
        _start = stream.Position;
        Length = Math.Max(0, stream.Length - _start);
    }

    public long Length { get; }

    public bool TryRead(long position, Span<byte> destination)
    {
        if (position < 0 || destination.Length > Length - position)
            return false;
        while (destination.Length > 0)
        {
            if (_windowAt < 0 || position < _windowAt || position >= _windowAt + _windowLength)
                Fill(position);
            int offset = (int)(position - _windowAt);
            int n = Math.Min(destination.Length, _windowLength - offset);
            if (n <= 0)
                return false;
            _window.AsSpan(offset, n).CopyTo(destination);
            destination = destination[n..];
            position += n;
        }

        return true;
    }

    /// <summary>One byte at <paramref name="position"/>, or -1 past the end.</summary>
    public int ByteAt(long position)
    {
        Span<byte> one = stackalloc byte[1];
        return TryRead(position, one) ? one[0] : -1;
    }

    /// <summary>A stream over [<paramref name="position"/>, +<paramref name="length"/>) of this source, for an inflater.</summary>
    public Stream Slice(long position, long length) => new SliceStream(this, position, Math.Clamp(length, 0, Math.Max(0, Length - position)));

    private void Fill(long position)
    {
        long saved = _stream.Position;
        try
        {
            _stream.Position = _start + position;
            _windowLength = _stream.ReadAtLeast(_window, _window.Length, throwOnEndOfStream: false);
            _windowAt = position;
        }
        finally
        {
            _stream.Position = saved;
        }
    }

    private sealed class SliceStream(FileBytes source, long start, long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = (int)Math.Min(buffer.Length, length - _position);
            if (n <= 0 || !source.TryRead(start + _position, buffer[..n]))
                return 0;
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>Regions of a file read as one run of bytes: an EXIF block or ICC profile split over JPEG segments.</summary>
internal sealed class JoinedBytes : IByteSource
{
    private readonly IByteSource _file;
    private readonly (long Position, long Length)[] _parts;
    private readonly long[] _starts;

    public JoinedBytes(IByteSource file, IEnumerable<(long Position, long Length)> parts)
    {
        _file = file;
        _parts = parts.Where(p => p.Length > 0).ToArray();
        _starts = new long[_parts.Length];
        long total = 0;
        for (int i = 0; i < _parts.Length; i++)
        {
            _starts[i] = total;
            total += _parts[i].Length;
        }

        Length = total;
    }

    public long Length { get; }

    public bool TryRead(long position, Span<byte> destination)
    {
        if (position < 0 || destination.Length > Length - position)
            return false;
        int index = Array.BinarySearch(_starts, position);
        if (index < 0)
            index = ~index - 1;
        for (; destination.Length > 0 && index < _parts.Length; index++)
        {
            long offset = position - _starts[index];
            int n = (int)Math.Min(destination.Length, _parts[index].Length - offset);
            if (!_file.TryRead(_parts[index].Position + offset, destination[..n]))
                return false;
            destination = destination[n..];
            position += n;
        }

        return destination.Length == 0;
    }
}

/// <summary>A region of another source.</summary>
internal sealed class SliceBytes(IByteSource file, long start, long length) : IByteSource
{
    public long Length { get; } = Math.Clamp(length, 0, Math.Max(0, file.Length - start));

    public bool TryRead(long position, Span<byte> destination)
        => position >= 0 && destination.Length <= Length - position && file.TryRead(start + position, destination);
}
