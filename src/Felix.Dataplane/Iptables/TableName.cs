namespace Felix.Dataplane.Iptables;

/// <summary>The iptables tables the agent writes to.</summary>
public enum TableName
{
    Filter,
    Nat,
}

public static class TableNames
{
    /// <summary>The name as <c>iptables-restore</c> spells it after <c>*</c>.</summary>
    public static string ToRestoreName(this TableName table) => table switch
    {
        TableName.Filter => "filter",
        TableName.Nat => "nat",
        _ => throw new ArgumentOutOfRangeException(nameof(table), table, null),
    };
}
