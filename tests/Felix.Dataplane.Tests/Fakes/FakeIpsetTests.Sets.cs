namespace Felix.Dataplane.Tests.Fakes;

/// <summary>Whole-set commands: swap, rename, destroy, flush, and references.</summary>
public sealed partial class FakeIpsetTests
{
    [Fact]
    public async Task The_temporary_set_flow_swaps_contents_and_leaves_names_and_references_in_place()
    {
        var fake = new FakeIpset();
        fake.CreateSet("felix-v4-x", maxElem: 1000);
        fake.AddMember("felix-v4-x", "10.0.0.1");
        fake.SetReferences("felix-v4-x", 1);
        var oldSeed = InitVal(fake, "felix-v4-x");

        await AssertRestoresAsync(fake, """
            create felix-tmp-v4-x hash:ip family inet hashsize 2048 maxelem 2000
            add felix-tmp-v4-x 10.0.0.2
            add felix-tmp-v4-x 10.0.0.3
            swap felix-tmp-v4-x felix-v4-x
            destroy felix-tmp-v4-x

            """);

        Assert.Equal(["felix-v4-x"], fake.SetNames());
        Assert.Equal(["10.0.0.2", "10.0.0.3"], fake.Members("felix-v4-x"));
        var info = fake.Describe("felix-v4-x")!;
        Assert.Equal(("hash:ip", (IpVersion?)IpVersion.V4, 2048L, 2000L, 1), (info.Type, info.Family, info.HashSize, info.MaxElem, info.References));
        Assert.Equal(["10.0.0.2", "10.0.0.3"], info.Members);
        Assert.NotEqual(oldSeed, InitVal(fake, "felix-v4-x"));
    }

    [Fact]
    public async Task Swapping_a_set_with_itself_is_allowed_and_two_list_sets_swap_their_members()
    {
        var fake = new FakeIpset();
        await AssertRestoresAsync(fake, "create a hash:ip\ncreate b hash:ip\ncreate L list:set\ncreate L2 list:set\nadd L a\n");

        await AssertRestoresAsync(fake, "swap a a\nswap L L2\n");

        Assert.Equal([], fake.Members("L"));
        Assert.Equal(["a"], fake.Members("L2"));
        Assert.Equal(1, fake.References("a"));
    }

    [Fact]
    public async Task A_referenced_set_can_be_neither_destroyed_nor_renamed_and_destroying_all_destroys_none()
    {
        var fake = new FakeIpset();
        await AssertRestoresAsync(fake, "create a hash:ip\ncreate b hash:ip\n");
        fake.SetReferences("a", 2);

        var destroy = await RestoreAsync(fake, "destroy a\n");
        var destroyAll = await RestoreAsync(fake, "destroy\n");
        var rename = await RestoreAsync(fake, "rename a c\n");
        var single = await RunAsync(fake, null, "destroy", "a");

        AssertFailed(destroy, 1, "ipset v7.17: Error in line 1: Set cannot be destroyed: it is in use by a kernel component");
        AssertFailed(destroyAll, 1, "ipset v7.17: Error in line 1: Set cannot be destroyed: it is in use by a kernel component");
        AssertFailed(rename, 1, "ipset v7.17: Error in line 1: Set cannot be renamed: it is in use by another system");
        AssertFailed(single, 1, "ipset v7.17: Set cannot be destroyed: it is in use by a kernel component");
        Assert.Equal(["a", "b"], fake.SetNames());
        Assert.Throws<InvalidOperationException>(() => fake.DestroySet("a"));

        fake.SetReferences("a", 0);
        await AssertRestoresAsync(fake, "rename a c\ndestroy\n");
        Assert.Equal([], fake.SetNames());
    }

    [Fact]
    public async Task List_set_members_reference_their_sets_until_deleted_flushed_or_the_list_is_destroyed()
    {
        var fake = new FakeIpset();
        await AssertRestoresAsync(fake, "create a hash:ip\ncreate b hash:ip\ncreate L list:set\ncreate L2 list:set\nadd L a\nadd L2 a\nadd L b\n");

        Assert.Equal((2, 1), (fake.References("a"), fake.References("b")));
        await AssertRestoresAsync(fake, "del L a\nflush L\n");
        Assert.Equal((1, 0), (fake.References("a"), fake.References("b")));
        await AssertRestoresAsync(fake, "destroy L2\ndestroy a\n");
        Assert.Equal(["b", "L"], fake.SetNames());
    }

    [Fact]
    public async Task List_set_refuses_missing_sets_list_sets_and_duplicates()
    {
        var fake = new FakeIpset();
        await AssertRestoresAsync(fake, "create a hash:ip\ncreate n hash:net\ncreate L list:set\ncreate L2 list:set\nadd L a\n");

        var results = new List<string>();
        foreach (var line in new[] { "add L nosuch", "add L a", "add L L2", "add L L", "del L nosuch", "del L n", "add L 10.0.0.1", "del L L" })
        {
            results.Add((await RunAsync(fake, null, FakeIpsetCommandLine.Split(line))).StandardError);
        }

        Assert.Equal([
            "ipset v7.17: Set to be added/deleted/tested as element does not exist.\n",
            "ipset v7.17: Element cannot be added to the set: it's already added\n",
            "ipset v7.17: Sets with list:set type cannot be added to the set.\n",
            "ipset v7.17: Sets with list:set type cannot be added to the set.\n",
            "ipset v7.17: Set to be added/deleted/tested as element does not exist.\n",
            "ipset v7.17: Element cannot be deleted from the set: it's not added\n",
            "ipset v7.17: Set to be added/deleted/tested as element does not exist.\n",
            "ipset v7.17: Sets with list:set type cannot be added to the set.\n",
        ], results);
    }

    [Fact]
    public async Task Flush_without_a_name_empties_every_set_and_a_new_set_takes_the_lowest_free_slot()
    {
        var fake = new FakeIpset();
        await AssertRestoresAsync(fake, "create a hash:ip\ncreate b hash:ip\ncreate c hash:ip\ncreate d hash:ip\nadd a 10.0.0.1\nadd d 10.0.0.4\n");

        await AssertRestoresAsync(fake, "flush\ndestroy b\ncreate z hash:ip\n");
        Assert.Equal(["a", "z", "c", "d"], fake.SetNames());
        await AssertRestoresAsync(fake, "destroy c\ndestroy z\ncreate y hash:ip\ncreate x hash:ip\nrename a a2\n");

        Assert.Equal(["a2", "y", "x", "d"], fake.SetNames());
        Assert.Equal([], fake.Members("a2"));
        Assert.Equal([], fake.Members("d"));
        var list = await RunAsync(fake, null, "list", "-n");
        Assert.Equal("a2\ny\nx\nd\n", list.StandardOutput);
    }

    [Fact]
    public async Task Destroy_of_a_missing_set_is_forgiven_by_exist_but_flush_is_not()
    {
        var fake = new FakeIpset();

        var destroy = await RestoreAsync(fake, "destroy nosuch -exist\n");
        var destroyFlag = await RestoreAsync(fake, "destroy nosuch\n", "-exist");
        var flush = await RestoreAsync(fake, "flush nosuch\n", "-exist");

        Assert.Equal((0, 0), (destroy.ExitCode, destroyFlag.ExitCode));
        AssertFailed(flush, 1, "ipset v7.17: Error in line 1: The set with the given name does not exist");
    }
}
