using System.Collections;
using System.Runtime.CompilerServices;

namespace Felix.Agent.Model;

/// <summary>
/// An immutable list with value equality. The datastore sync decides whether a key changed by
/// comparing the new record with the one it delivered before; records compare their members with
/// <see cref="object.Equals(object)"/>, so every list inside a model record must compare by its
/// elements, in order, or every re-read would look like a change.
/// </summary>
[CollectionBuilder(typeof(EquatableList), nameof(EquatableList.Create))]
public sealed class EquatableList<T> : IReadOnlyList<T>, IEquatable<EquatableList<T>>
{
    private readonly T[] _items;

    internal EquatableList(T[] items) => _items = items;

    internal static EquatableList<T> Empty { get; } = new([]);

    public int Count => _items.Length;

    public T this[int index] => _items[index];

    public bool Equals(EquatableList<T>? other) =>
        other is not null && (ReferenceEquals(this, other) || _items.AsSpan().SequenceEqual(other._items));

    public override bool Equals(object? obj) => Equals(obj as EquatableList<T>);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var item in _items)
        {
            hash.Add(item);
        }
        return hash.ToHashCode();
    }

    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    /// <summary>Shows the elements, so a failed comparison in a test or a debug log says why.</summary>
    public override string ToString() => "[" + string.Join(", ", _items) + "]";
}

/// <summary>Ways to make an <see cref="EquatableList{T}"/>.</summary>
public static class EquatableList
{
    public static EquatableList<T> Empty<T>() => EquatableList<T>.Empty;

    public static EquatableList<T> Create<T>(ReadOnlySpan<T> items) =>
        items.IsEmpty ? EquatableList<T>.Empty : new EquatableList<T>(items.ToArray());

    /// <summary>
    /// Wraps a copy of <paramref name="items"/> (or returns it as is when it already is one), so a
    /// caller keeping a reference to its own list cannot change a record afterwards.
    /// </summary>
    public static EquatableList<T> From<T>(IEnumerable<T> items) => items switch
    {
        EquatableList<T> list => list,
        _ => Create<T>(items.ToArray()),
    };
}
