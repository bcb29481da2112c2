/// `virsh dumpxml` of a running vmserial domain as libvirt 9.0 prints it (pc-i440fx,
/// TCG, direct kernel boot, a virtio, a SCSI, a SATA and an NVMe disk — the last a
/// virtio disk whose frontend `<qemu:override>` turns into `nvme` — plus a user's own
/// `<qemu:commandline>`), including everything vmserial does not model.
let libvirtDump = """
<domain type='qemu' id='7' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>vm1</name>
  <uuid>5f0c6c3e-8d1a-4b7e-9a51-0f3c2b6d7e10</uuid>
  <metadata>
    <vms:instance xmlns:vms="https://vmserial.dev/xmlns/instance/1" version="1">
      <vms:smbios mode="unique" serial="5f0c6c3e-8d1a-4b7e-9a51-0f3c2b6d7e10" uuid="5f0c6c3e-8d1a-4b7e-9a51-0f3c2b6d7e10"/>
      <vms:disk name="root" volume="vm1/root" bus="virtio" target="vda" serial="VS0A1B2C3D4E5F6G7H8J" generated="yes"/>
      <vms:disk name="data" volume="vm1/data" bus="scsi" target="sda" serial="MANUAL-0001" generated="no"/>
    </vms:instance>
  </metadata>
  <memory unit='KiB'>524288</memory>
  <currentMemory unit='KiB'>524288</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <resource>
    <partition>/machine</partition>
  </resource>
  <sysinfo type='smbios'>
    <system>
      <entry name='serial'>5f0c6c3e-8d1a-4b7e-9a51-0f3c2b6d7e10</entry>
      <entry name='uuid'>5f0c6c3e-8d1a-4b7e-9a51-0f3c2b6d7e10</entry>
    </system>
  </sysinfo>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <kernel>/var/lib/vmserial/boot/vmlinuz-6.1.0-13-amd64</kernel>
    <initrd>/var/lib/vmserial/boot/probe.cpio.gz</initrd>
    <cmdline>console=ttyS0 vmserial.disks=3</cmdline>
    <boot dev='hd'/>
    <smbios mode='sysinfo'/>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <cpu mode='custom' match='exact' check='full'>
    <model fallback='forbid'>qemu64</model>
    <feature policy='require' name='x2apic'/>
    <feature policy='require' name='hypervisor'/>
    <feature policy='require' name='lahf_lm'/>
    <feature policy='disable' name='svm'/>
  </cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/srv/vms/vm1/root.qcow2' index='3'/>
      <backingStore/>
      <target dev='vda' bus='virtio'/>
      <serial>VS0A1B2C3D4E5F6G7H8J</serial>
      <alias name='virtio-disk0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='/srv/vms/vm1/data.qcow2' index='2'/>
      <backingStore/>
      <target dev='sda' bus='scsi'/>
      <serial>MANUAL-0001</serial>
      <alias name='scsi0-0-0-0'/>
      <address type='drive' controller='0' bus='0' target='0' unit='0'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/srv/shared/team-share.img' index='1'/>
      <backingStore/>
      <target dev='sdb' bus='sata'/>
      <serial>VSZZ99YY88XX77WW66VV</serial>
      <shareable/>
      <alias name='sata0-0-1'/>
      <address type='drive' controller='0' bus='0' target='0' unit='1'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/srv/vms/vm1/fast,1.raw' index='4'/>
      <backingStore/>
      <target dev='vdb' bus='virtio'/>
      <serial>VSNVME0000000000000A</serial>
      <alias name='ua-vmserial-nvme-vdb'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'/>
    </disk>
    <controller type='usb' index='0' model='piix3-uhci'>
      <alias name='usb'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x2'/>
    </controller>
    <controller type='pci' index='0' model='pci-root'>
      <alias name='pci.0'/>
    </controller>
    <controller type='scsi' index='0' model='virtio-scsi'>
      <alias name='scsi0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    </controller>
    <controller type='sata' index='0'>
      <alias name='sata0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x06' function='0x0'/>
    </controller>
    <controller type='ide' index='0'>
      <alias name='ide'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x1'/>
    </controller>
    <serial type='pty'>
      <source path='/dev/pts/3'/>
      <target type='isa-serial' port='0'>
        <model name='isa-serial'/>
      </target>
      <alias name='serial0'/>
    </serial>
    <console type='pty' tty='/dev/pts/3'>
      <source path='/dev/pts/3'/>
      <target type='serial' port='0'/>
      <alias name='serial0'/>
    </console>
    <input type='mouse' bus='ps2'>
      <alias name='input0'/>
    </input>
    <input type='keyboard' bus='ps2'>
      <alias name='input1'/>
    </input>
    <audio id='1' type='none'/>
    <video>
      <model type='cirrus' vram='16384' heads='1' primary='yes'/>
      <alias name='video0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </video>
    <memballoon model='virtio'>
      <alias name='balloon0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
    </memballoon>
  </devices>
  <seclabel type='dynamic' model='dac' relabel='yes'>
    <label>+64055:+64055</label>
    <imagelabel>+64055:+64055</imagelabel>
  </seclabel>
  <qemu:commandline>
    <qemu:arg value='-global'/>
    <qemu:arg value='kvm-pit.lost_tick_policy=delay'/>
    <qemu:arg value='-s'/>
  </qemu:commandline>
  <qemu:override>
    <qemu:device alias='ua-vmserial-nvme-vdb'>
      <qemu:frontend>
        <qemu:property name='driver' type='string' value='nvme'/>
      </qemu:frontend>
    </qemu:device>
  </qemu:override>
</domain>
"""
