namespace Felix.Agent.Hosting.Configuration;

/// <summary>
/// One named configuration parameter: its default, how a raw string becomes a typed value, and
/// which sources may set it. Parameters are declared once, in <see cref="ConfigParameters"/>, so
/// help text, validation and the typed <see cref="FelixConfig"/> can never drift apart.
/// </summary>
public abstract class ConfigParameter
{
    private protected ConfigParameter(string name, string defaultText, string description, bool localOnly)
    {
        Name = name;
        DefaultText = defaultText;
        Description = description;
        LocalOnly = localOnly;
    }

    public string Name { get; }

    /// <summary>The default as an operator would write it (shown by <c>--help</c>).</summary>
    public string DefaultText { get; }

    public string Description { get; }

    /// <summary>
    /// Only the environment and the config file may set it: the datastore cannot tell the agent
    /// how to reach the datastore or which host it is.
    /// </summary>
    public bool LocalOnly { get; }

    /// <summary>What values are allowed, phrased to complete "must be …".</summary>
    public abstract string Allowed { get; }

    internal abstract bool TryParseBoxed(string raw, out object? value);

    internal abstract object? DefaultBoxed();
}

/// <summary>A parameter whose value has type <typeparamref name="T"/>.</summary>
public sealed class ConfigParameter<T> : ConfigParameter
{
    private readonly ValueParser<T> _parser;
    private readonly Func<T> _default;

    public ConfigParameter(string name, ValueParser<T> parser, Func<T> defaultValue, string defaultText,
        string description, bool localOnly = false)
        : base(name, defaultText, description, localOnly)
    {
        _parser = parser;
        _default = defaultValue;
    }

    public override string Allowed => _parser.Allowed;

    public bool TryParse(string raw, out T value) => _parser.TryParse(raw, out value);

    public T Default() => _default();

    internal override bool TryParseBoxed(string raw, out object? value)
    {
        var ok = _parser.TryParse(raw, out var typed);
        value = typed;
        return ok;
    }

    internal override object? DefaultBoxed() => _default();
}
