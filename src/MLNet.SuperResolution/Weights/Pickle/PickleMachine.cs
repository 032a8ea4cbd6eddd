using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace MLNet.SuperResolution.Weights.Pickle;

/// <summary>
/// A pickle reader that executes nothing (Python's pickle format, protocols 0-5, as documented in CPython's
/// Lib/pickletools.py): it builds plain data (None, bools, integers, floats, strings, bytes, tuples, lists, dicts)
/// and, from an allow-list of globals, only what a PyTorch state_dict needs: <c>collections.OrderedDict</c>, PyTorch's
/// tensor rebuild functions and typed storage classes. Any other global (<c>os.system</c>, <c>builtins.eval</c>, a
/// model class) is refused with an error naming it as soon as the pickle names it; so are extension codes and
/// out-of-band buffers. Every length is checked against the bytes left before anything is allocated, and the machine
/// stops with an error on a malformed stream. The work is bounded by the pickle's length: each opcode reads at least
/// one byte and does at most a constant amount of work per item it moves.
/// </summary>
internal sealed class PickleMachine
{
    /// <summary>The globals a state_dict pickle may name (one object each, shared by every pickle).</summary>
    private static readonly Dictionary<(string Module, string Name), PyGlobal> Allowed = new (string, string)[]
    {
        ("collections", "OrderedDict"),
        ("typing", "OrderedDict"),
        ("torch._utils", "_rebuild_tensor"),
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch._utils", "_rebuild_parameter"),
        ("torch._utils", "_rebuild_parameter_with_state"),
        ("torch", "FloatStorage"), ("torch", "HalfStorage"), ("torch", "BFloat16Storage"), ("torch", "DoubleStorage"),
        ("torch", "LongStorage"), ("torch", "IntStorage"), ("torch", "ShortStorage"), ("torch", "CharStorage"),
        ("torch", "ByteStorage"), ("torch", "BoolStorage"),
    }.ToDictionary(g => g, g => new PyGlobal(g.Item1, g.Item2));

    /// <summary>Boxed small integers, shared: a state_dict pickle is mostly shapes, strides and offsets.</summary>
    private static readonly object[] SmallIntegers = Enumerable.Range(0, 1024).Select(i => (object)(long)i).ToArray();

    /// <summary>The longest integer accepted (LONG1/LONG4, protocol 0 LONG): 64 bytes, far above any state_dict's.</summary>
    private const int MaxIntegerBytes = 64;

    private readonly Stream _stream;
    private readonly long _end;
    private readonly Func<PyTuple, object> _persistentLoad;
    private readonly List<object> _stack = [];
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object> _memo = [];
    private readonly byte[] _scratch = new byte[8];

    /// <param name="stream">Positioned at the pickle; left after its STOP opcode.</param>
    /// <param name="end">The stream position the pickle may not read past.</param>
    /// <param name="persistentLoad">Resolves a persistent id (PyTorch's storage references) to an object.</param>
    private PickleMachine(Stream stream, long end, Func<PyTuple, object> persistentLoad)
    {
        _stream = stream;
        _end = end;
        _persistentLoad = persistentLoad;
    }

    /// <summary>Reads one pickle from <paramref name="stream"/>'s position up to <paramref name="end"/> at most.</summary>
    /// <exception cref="InvalidDataException">Malformed, truncated, or naming a global that is not allowed: the message says which.</exception>
    public static object Load(Stream stream, long end, Func<PyTuple, object> persistentLoad)
        => new PickleMachine(stream, end, persistentLoad).Run();

    private long Left => _end - _stream.Position;

    private object Run()
    {
        while (true)
        {
            byte op = ReadByte();
            switch (op)
            {
                case 0x80: // PROTO
                    if (ReadByte() > 5)
                        throw new InvalidDataException("the pickle uses a protocol newer than 5");
                    break;
                case 0x95: // FRAME: an 8-byte length; the frame's contents follow as ordinary opcodes
                    ReadUInt64();
                    break;
                case (byte)'.': // STOP
                    return Pop();
                case (byte)'(':
                    _marks.Push(_stack.Count);
                    break;
                case (byte)'0': // POP
                    Pop();
                    break;
                case (byte)'1': // POP_MARK
                    PopMark();
                    break;
                case (byte)'2': // DUP
                    Push(Peek());
                    break;

                case (byte)'N':
                    Push(PyNone.Instance);
                    break;
                case 0x88:
                    Push(true);
                    break;
                case 0x89:
                    Push(false);
                    break;
                case (byte)'J': // BININT
                    Push(Box(ReadInt32()));
                    break;
                case (byte)'K': // BININT1
                    Push(SmallIntegers[ReadByte()]);
                    break;
                case (byte)'M': // BININT2
                    Push(Box(ReadUInt16()));
                    break;
                case 0x8A: // LONG1
                    Push(LittleEndianInteger(ReadBytes(ReadByte())));
                    break;
                case 0x8B: // LONG4
                    {
                        int n = ReadInt32();
                        if (n is < 0 or > MaxIntegerBytes)
                            throw new InvalidDataException($"the pickle holds a {n}-byte integer");
                        Push(LittleEndianInteger(ReadBytes(n)));
                        break;
                    }

                case (byte)'I': // INT (text; "01"/"00" are True/False)
                    {
                        string text = ReadLine();
                        Push(text switch
                        {
                            "01" => true,
                            "00" => false,
                            _ => TextInteger(text),
                        });
                        break;
                    }

                case (byte)'L': // LONG (text, with a trailing L)
                    Push(TextInteger(ReadLine().TrimEnd('L')));
                    break;
                case (byte)'G': // BINFLOAT
                    Push(BitConverter.Int64BitsToDouble((long)ReadUInt64BigEndian()));
                    break;
                case (byte)'F': // FLOAT (text)
                    Push(double.TryParse(ReadLine(), NumberStyles.Float, CultureInfo.InvariantCulture, out double number)
                        ? number
                        : throw new InvalidDataException("the pickle holds a malformed float"));
                    break;

                case (byte)'X': // BINUNICODE
                    Push(Utf8(ReadBytes(ReadLength32())));
                    break;
                case 0x8C: // SHORT_BINUNICODE
                    Push(Utf8(ReadBytes(ReadByte())));
                    break;
                case 0x8D: // BINUNICODE8
                    Push(Utf8(ReadBytes(ReadLength64())));
                    break;
                case (byte)'V': // UNICODE (raw-unicode-escaped text line)
                    Push(ReadLine());
                    break;
                case (byte)'T': // BINSTRING
                    Push(Latin1(ReadBytes(ReadLength32())));
                    break;
                case (byte)'U': // SHORT_BINSTRING
                    Push(Latin1(ReadBytes(ReadByte())));
                    break;
                case (byte)'S': // STRING (quoted text)
                    Push(ReadLine().Trim('\'', '"'));
                    break;
                case (byte)'B': // BINBYTES
                    Push(ReadBytes(ReadLength32()));
                    break;
                case (byte)'C': // SHORT_BINBYTES
                    Push(ReadBytes(ReadByte()));
                    break;
                case 0x8E: // BINBYTES8
                case 0x96: // BYTEARRAY8
                    Push(ReadBytes(ReadLength64()));
                    break;

                case (byte)')':
                    Push(new PyTuple([]));
                    break;
                case (byte)'t': // TUPLE
                    Push(new PyTuple(PopMark()));
                    break;
                case 0x85:
                    Push(new PyTuple([Pop()]));
                    break;
                case 0x86:
                    {
                        object b = Pop(), a = Pop();
                        Push(new PyTuple([a, b]));
                        break;
                    }

                case 0x87:
                    {
                        object c = Pop(), b = Pop(), a = Pop();
                        Push(new PyTuple([a, b, c]));
                        break;
                    }

                case (byte)']':
                    Push(new PyList());
                    break;
                case (byte)'l': // LIST
                    {
                        var list = new PyList();
                        list.AddRange(PopMark());
                        Push(list);
                        break;
                    }

                case (byte)'a': // APPEND
                    {
                        object item = Pop();
                        AsList(Peek()).Add(item);
                        break;
                    }

                case (byte)'e': // APPENDS
                    {
                        var items = PopMark();
                        AsList(Peek()).AddRange(items);
                        break;
                    }

                case (byte)'}':
                    Push(new PyDict());
                    break;
                case (byte)'d': // DICT
                    {
                        var items = PopMark();
                        var dict = new PyDict();
                        SetItems(dict, items);
                        Push(dict);
                        break;
                    }

                case (byte)'s': // SETITEM
                    {
                        object value = Pop(), key = Pop();
                        AsDict(Peek()).Set(key, value);
                        break;
                    }

                case (byte)'u': // SETITEMS
                    {
                        var items = PopMark();
                        SetItems(AsDict(Peek()), items);
                        break;
                    }

                case 0x8F: // EMPTY_SET
                    Push(new PyList());
                    break;
                case 0x90: // ADDITEMS
                    {
                        var items = PopMark();
                        AsList(Peek()).AddRange(items);
                        break;
                    }

                case 0x91: // FROZENSET
                    {
                        var set = new PyList();
                        set.AddRange(PopMark());
                        Push(set);
                        break;
                    }

                case (byte)'c': // GLOBAL "module\nname\n"
                    {
                        string module = ReadLine(), name = ReadLine();
                        Push(Global(module, name));
                        break;
                    }

                case 0x93: // STACK_GLOBAL
                    {
                        object name = Pop(), module = Pop();
                        if (module is not string m || name is not string n)
                            throw new InvalidDataException("the pickle's STACK_GLOBAL names are not strings");
                        Push(Global(m, n));
                        break;
                    }

                case (byte)'R': // REDUCE
                    {
                        object args = Pop(), callable = Pop();
                        Push(Call(callable, args as PyTuple ?? throw new InvalidDataException("the pickle's REDUCE arguments are not a tuple")));
                        break;
                    }

                case 0x81: // NEWOBJ
                    {
                        object args = Pop(), cls = Pop();
                        Push(Call(cls, args as PyTuple ?? throw new InvalidDataException("the pickle's NEWOBJ arguments are not a tuple")));
                        break;
                    }

                case 0x92: // NEWOBJ_EX
                    {
                        Pop(); // keyword arguments
                        object args = Pop(), cls = Pop();
                        Push(Call(cls, args as PyTuple ?? throw new InvalidDataException("the pickle's NEWOBJ_EX arguments are not a tuple")));
                        break;
                    }

                case (byte)'b': // BUILD: state for the object below; a state_dict's OrderedDict gets its _metadata this way
                    Pop();
                    if (Peek() is not (PyDict or StoredTensor))
                        throw new InvalidDataException($"the pickle sets the state of a {Describe(Peek())}");
                    break;

                case (byte)'p': // PUT (text index)
                    Memo(TextIndex(ReadLine()));
                    break;
                case (byte)'q': // BINPUT
                    Memo(ReadByte());
                    break;
                case (byte)'r': // LONG_BINPUT
                    Memo(ReadUInt32());
                    break;
                case 0x94: // MEMOIZE
                    Memo(_memo.Count);
                    break;
                case (byte)'g': // GET
                    Push(Recall(TextIndex(ReadLine())));
                    break;
                case (byte)'h': // BINGET
                    Push(Recall(ReadByte()));
                    break;
                case (byte)'j': // LONG_BINGET
                    Push(Recall(ReadUInt32()));
                    break;

                case (byte)'Q': // BINPERSID
                    Push(_persistentLoad(Pop() as PyTuple ?? throw new InvalidDataException("the pickle's persistent id is not a tuple")));
                    break;
                case (byte)'P': // PERSID (text id): PyTorch never writes it
                    throw new InvalidDataException("the pickle uses a text persistent id, which PyTorch does not write");

                case (byte)'i': // INST
                case (byte)'o': // OBJ
                    throw new InvalidDataException("the pickle builds an object instance (INST/OBJ), which a state_dict never holds");
                case 0x82:
                case 0x83:
                case 0x84: // EXT1/2/4
                    throw new InvalidDataException("the pickle uses the extension registry (EXT), which a state_dict never holds");
                case 0x97:
                case 0x98: // NEXT_BUFFER, READONLY_BUFFER
                    throw new InvalidDataException("the pickle uses out-of-band buffers, which a state_dict never holds");
                default:
                    throw new InvalidDataException($"the pickle holds an unknown opcode 0x{op:X2} at byte {_stream.Position - 1}");
            }
        }
    }

    private static object Global(string module, string name)
        => Allowed.TryGetValue((module, name), out var global)
            ? global
            : throw new InvalidDataException(
                $"it names the Python global '{module}.{name}', which a state_dict never needs; it was refused, and nothing in the file was run " +
                "(loading such a file in Python would have called it)");

    /// <summary>What an allowed global does when called (REDUCE or NEWOBJ).</summary>
    private static object Call(object callable, PyTuple args)
    {
        if (callable is not PyGlobal global)
            throw new InvalidDataException($"the pickle calls a {Describe(callable)}");
        switch (global.Name)
        {
            case "OrderedDict":
                {
                    var dict = new PyDict();
                    if (args.Count > 0 && args[0] is PyList pairs)
                        foreach (var pair in pairs)
                            if (pair is PyTuple { Count: 2 } kv)
                                dict.Set(kv[0], kv[1]);
                    return dict;
                }

            case "_rebuild_tensor":
            case "_rebuild_tensor_v2":
                {
                    if (args.Count < 4 || args[0] is not StorageRef storage)
                        throw new InvalidDataException($"the pickle calls torch._utils.{global.Name} without a storage");
                    return StoredTensor.Create(storage, Integer(args[1], "storage offset"), Integers(args[2], "size"), Integers(args[3], "stride"));
                }

            case "_rebuild_parameter":
            case "_rebuild_parameter_with_state":
                return args.Count > 0 && args[0] is StoredTensor tensor
                    ? tensor
                    : throw new InvalidDataException($"the pickle calls torch._utils.{global.Name} without a tensor");
            default:
                throw new InvalidDataException($"the pickle calls '{global}', which only names a storage type");
        }
    }

    private static long Integer(object value, string what) => value switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        _ => throw new InvalidDataException($"a tensor's {what} is not an integer"),
    };

    private static long[] Integers(object value, string what)
        => value is PyTuple tuple
            ? tuple.Items.Select(v => Integer(v, what)).ToArray()
            : throw new InvalidDataException($"a tensor's {what} is not a tuple");

    private static void SetItems(PyDict dict, object[] items)
    {
        if (items.Length % 2 != 0)
            throw new InvalidDataException("the pickle's SETITEMS has an odd number of items");
        for (int i = 0; i < items.Length; i += 2)
            dict.Set(items[i], items[i + 1]);
    }

    private static PyList AsList(object value)
        => value as PyList ?? throw new InvalidDataException($"the pickle appends to a {Describe(value)}");

    private static PyDict AsDict(object value)
        => value as PyDict ?? throw new InvalidDataException($"the pickle sets an item of a {Describe(value)}");

    private static string Describe(object value) => value switch
    {
        PyGlobal g => $"global '{g}'",
        PyDict => "dict",
        PyList => "list",
        PyTuple => "tuple",
        StoredTensor => "tensor",
        StorageRef => "storage",
        _ => value.GetType().Name,
    };

    private void Push(object value) => _stack.Add(value);

    private object Pop()
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _stack.Count <= _marks.Peek()))
            throw new InvalidDataException("the pickle pops from an empty stack");
        object value = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object Peek()
        => _stack.Count > 0 ? _stack[^1] : throw new InvalidDataException("the pickle reads an empty stack");

    private object[] PopMark()
    {
        if (_marks.Count == 0)
            throw new InvalidDataException("the pickle has no mark where it needs one");
        int mark = _marks.Pop();
        var items = _stack.GetRange(mark, _stack.Count - mark).ToArray();
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private void Memo(long index) => _memo[index] = Peek();

    private object Recall(long index)
        => _memo.TryGetValue(index, out var value) ? value : throw new InvalidDataException($"the pickle recalls memo {index}, never stored");

    private byte ReadByte()
    {
        if (Left < 1)
            throw Truncated();
        int b = _stream.ReadByte();
        return b < 0 ? throw Truncated() : (byte)b;
    }

    private byte[] ReadBytes(long count)
    {
        if (count < 0 || count > Left)
            throw Truncated();
        var bytes = new byte[count];
        _stream.ReadExactly(bytes);
        return bytes;
    }

    private ReadOnlySpan<byte> ReadFixed(int count)
    {
        if (count > Left)
            throw Truncated();
        _stream.ReadExactly(_scratch, 0, count);
        return _scratch.AsSpan(0, count);
    }

    private int ReadInt32() => BinaryPrimitives.ReadInt32LittleEndian(ReadFixed(4));
    private uint ReadUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(ReadFixed(4));
    private ushort ReadUInt16() => BinaryPrimitives.ReadUInt16LittleEndian(ReadFixed(2));
    private ulong ReadUInt64() => BinaryPrimitives.ReadUInt64LittleEndian(ReadFixed(8));
    private ulong ReadUInt64BigEndian() => BinaryPrimitives.ReadUInt64BigEndian(ReadFixed(8));

    private long ReadLength32()
    {
        uint n = ReadUInt32();
        return n <= Left ? n : throw Truncated();
    }

    private long ReadLength64()
    {
        ulong n = ReadUInt64();
        return n <= (ulong)Math.Max(0, Left) ? (long)n : throw Truncated();
    }

    /// <summary>A text argument up to its newline (at most 64 KB).</summary>
    private string ReadLine()
    {
        var bytes = new List<byte>();
        while (true)
        {
            byte b = ReadByte();
            if (b == (byte)'\n')
                return Latin1(bytes.ToArray());
            if (bytes.Count >= 1 << 16)
                throw new InvalidDataException("the pickle holds a text argument longer than 64 KB");
            bytes.Add(b);
        }
    }

    private static object Box(long value) => value is >= 0 and < 1024 ? SmallIntegers[value] : value;

    private static object LittleEndianInteger(byte[] bytes)
    {
        var value = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue ? Box((long)value) : value;
    }

    private static object TextInteger(string text)
    {
        if (text.Length > MaxIntegerBytes * 3 || !BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            throw new InvalidDataException("the pickle holds a malformed integer");
        return value >= long.MinValue && value <= long.MaxValue ? (object)(long)value : value;
    }

    private static long TextIndex(string text)
        => long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long index) ? index : throw new InvalidDataException("the pickle holds a malformed memo index");

    private static string Utf8(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    private static string Latin1(byte[] bytes) => Encoding.Latin1.GetString(bytes);

    private static InvalidDataException Truncated() => new("the pickle ends before it is complete (cut off or corrupt)");
}
