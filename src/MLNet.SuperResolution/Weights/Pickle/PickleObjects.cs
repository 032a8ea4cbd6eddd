namespace MLNet.SuperResolution.Weights.Pickle;

/// <summary>Python's None.</summary>
internal sealed class PyNone
{
    public static readonly PyNone Instance = new();

    private PyNone()
    {
    }

    public override string ToString() => "None";
}

/// <summary>A class or function a pickle names (module, name): only those on <see cref="PickleMachine"/>'s allow-list are ever made.</summary>
internal sealed record PyGlobal(string Module, string Name)
{
    public override string ToString() => $"{Module}.{Name}";
}

/// <summary>A Python dict (or OrderedDict), insertion-ordered; lookups by string key.</summary>
internal sealed class PyDict
{
    // Made on first use: every tensor of a state_dict pickle comes with an empty OrderedDict of backward hooks.
    private List<KeyValuePair<object, object>>? _items;
    private Dictionary<object, int>? _index;

    public int Count => _items?.Count ?? 0;

    public IEnumerable<KeyValuePair<object, object>> Items => _items ?? [];

    public void Set(object key, object value)
    {
        _items ??= [];
        _index ??= [];
        if (_index.TryGetValue(key, out int at))
        {
            _items[at] = new KeyValuePair<object, object>(key, value);
            return;
        }

        _index[key] = _items.Count;
        _items.Add(new KeyValuePair<object, object>(key, value));
    }

    public bool TryGet(string key, out object value)
    {
        if (_index is not null && _items is not null && _index.TryGetValue(key, out int at))
        {
            value = _items[at].Value;
            return true;
        }

        value = PyNone.Instance;
        return false;
    }
}

/// <summary>A Python list.</summary>
internal sealed class PyList : List<object>;

/// <summary>A Python tuple.</summary>
internal sealed class PyTuple(object[] items)
{
    public object[] Items { get; } = items;

    public int Count => Items.Length;

    public object this[int index] => Items[index];
}

/// <summary>An object a pickle builds that this reader keeps only as a placeholder (e.g. the state of a BUILD it ignores).</summary>
internal sealed class PyOpaque(string what)
{
    public override string ToString() => what;
}
