#!/usr/bin/env python3
# Writes malformed.json: one complete BGP message per error case of RFC 4271 §6 and RFC 7606,
# built from named fields so each hex string can be read back. Run from anywhere:
#   python3 src/bgp/wire/testdata/make-malformed.py
# (Only needed to change the corpus; the tests read the JSON.)
import json, os
def h(*parts): return ''.join(parts)
def u8(n): return '%02x'%n
def u16(n): return '%04x'%n
def u32(n): return '%08x'%n
def msg(t, body, length=None, marker='ff'*16):
    L = 19 + len(body)//2 if length is None else length
    return marker + u16(L) + u8(t) + body
def attr(flags, code, value):
    n = len(value)//2
    if flags & 0x10: return u8(flags)+u8(code)+u16(n)+value
    return u8(flags)+u8(code)+u8(n)+value
def update(withdrawn='', attrs='', nlri=''):
    return msg(2, u16(len(withdrawn)//2)+withdrawn+u16(len(attrs)//2)+attrs+nlri)
ORIGIN=attr(0x40,1,'00'); ASP4=attr(0x40,2,'0201'+u32(65001)); ASP2=attr(0x40,2,'0201'+u16(65001)); NH=attr(0x40,3,'c6120001')
BASE=ORIGIN+ASP4+NH
NLRI='100a01'   # 10.1.0.0/16
V6MP=lambda nlri='4020010db800010000': attr(0x80,14,'0002'+'01'+'10'+'20010db8000000000000000000000001'+'00'+nlri)
C={'as4':True}
cases=[]
def add(id, rfc, what, hexs, expect, ctx=None, via='decode'):
    cases.append({'id':id,'rfc':rfc,'what':what,'ctx':ctx or C,'via':via,'hex':hexs,'expect':expect})
def err(code, sub, data='', disp='session-reset', **kw):
    d={'code':code,'subcode':sub,'data':data,'disposition':disp}; d.update(kw); return {'error':d}
def upd(tw, issues, **kw):
    d={'treatAsWithdraw':tw,'issues':[{'disposition':i[0],'code':3,'subcode':i[1],'data':i[2],**({'attributeCode':i[3]} if len(i)>3 else {})} for i in issues]}; d.update(kw); return {'update':d}
# ---- RFC 4271 §6.1 message header
add('header-marker','RFC 4271 §6.1','marker not all ones: Connection Not Synchronized', msg(4,'',marker='ff'*15+'fe'), err(1,1))
add('header-length-short','RFC 4271 §6.1','Length field 18, below the header size', msg(4,'',length=18), err(1,2,'0012'))
add('header-length-over-4096','RFC 4271 §6.1','UPDATE declaring 4097 octets without extended messages', msg(2,'00000000',length=4097), err(1,2,'1001'), via='framer')
add('header-open-over-4096-extended','RFC 8654 §3','OPEN declaring 4097 octets: OPEN never grows, even with extended messages', msg(1,'04fde900b4c6120001',length=4097), err(1,2,'1001'), ctx={'as4':True,'extendedMessage':True}, via='framer')
add('header-keepalive-over-4096-extended','RFC 8654 §3','KEEPALIVE declaring 4097 octets with extended messages', msg(4,'',length=4097), err(1,2,'1001'), ctx={'as4':True,'extendedMessage':True}, via='framer')
add('header-open-too-short','RFC 4271 §6.1','OPEN of 28 octets (minimum 29)', msg(1,'04fde900b4c612000100'[:18]), err(1,2,'001c'))
add('header-update-too-short','RFC 4271 §6.1','UPDATE of 22 octets (minimum 23)', msg(2,'000000'), err(1,2,'0016'))
add('header-keepalive-too-long','RFC 4271 §6.1','KEEPALIVE of 20 octets (must be 19)', msg(4,'00'), err(1,2,'0014'))
add('header-notification-too-short','RFC 4271 §6.1','NOTIFICATION of 20 octets (minimum 21)', msg(3,'06'), err(1,2,'0014'))
add('header-route-refresh-too-short','RFC 2918 §3, RFC 4271 §6.1','ROUTE-REFRESH of 22 octets (minimum 23)', msg(5,'000100'), err(1,2,'0016'))
add('header-type-0','RFC 4271 §6.1','message type 0: Bad Message Type', msg(0,''), err(1,3,'00'))
add('header-type-6','RFC 4271 §6.1','message type 6: Bad Message Type', msg(6,''), err(1,3,'06'))
add('header-type-255','RFC 4271 §6.1','message type 255: Bad Message Type', msg(255,'00'), err(1,3,'ff'))
# ---- RFC 4271 §6.2 OPEN
def open_(ver=4, asn=65001, hold=180, bgpid=0xc6120001, params=''):
    return msg(1, u8(ver)+u16(asn)+u16(hold)+u32(bgpid)+u8(len(params)//2)+params)
CAPS='0206'+'41040000fde9'
add('open-version-3','RFC 4271 §6.2','version 3: Unsupported Version Number, data = the version we support', open_(ver=3,params=CAPS), err(2,1,'0004'))
add('open-hold-1','RFC 4271 §6.2','hold time 1: Unacceptable Hold Time', open_(hold=1,params=CAPS), err(2,6))
add('open-hold-2','RFC 4271 §6.2','hold time 2: Unacceptable Hold Time', open_(hold=2,params=CAPS), err(2,6))
add('open-bgp-id-zero','RFC 4271 §6.2, RFC 6286 §2.2','BGP Identifier 0.0.0.0: Bad BGP Identifier', open_(bgpid=0,params=CAPS), err(2,3))
add('open-param-type-1','RFC 4271 §6.2','optional parameter type 1 (authentication): Unsupported Optional Parameter', open_(params='0102abcd'), err(2,4))
add('open-param-length-mismatch','RFC 4271 §6.1/§6.2','Optional Parameters Length 10 with 8 octets following: Bad Message Length', msg(1,'04fde900b4c6120001'+'0a'+CAPS), err(1,2,'0025'))
add('open-param-overrun','RFC 4271 §6.2','a Capabilities parameter whose length runs past the block: OPEN Message Error / Unspecific', open_(params='0209'+'41040000fde9'+'0000'), err(2,0))
add('open-capability-as4-length-2','RFC 6793 §9, RFC 4271 §6.2','four-octet AS capability of length 2: malformed, OPEN Message Error / Unspecific', open_(params='0204'+'4102fde9'), err(2,0))
add('open-capability-mp-length-3','RFC 4760 §8, RFC 4271 §6.2','multiprotocol capability of length 3: malformed', open_(params='0205'+'0103000101'), err(2,0))
add('open-capability-gr-length-3','RFC 4724 §3, RFC 4271 §6.2','graceful restart capability of length 3: malformed', open_(params='0205'+'4003007800'), err(2,0))
add('open-capability-addpath-length-3','RFC 7911 §4, RFC 4271 §6.2','ADD-PATH capability of length 3: malformed', open_(params='0205'+'4503000101'), err(2,0))
add('open-capability-truncated','RFC 5492 §4, RFC 4271 §6.2','capability header cut short inside its parameter', open_(params='0201'+'41'), err(2,0))
add('open-bad-peer-as','RFC 4271 §6.2','My Autonomous System differs from the configured peer AS: decodes; the FSM sends Bad Peer AS', open_(asn=65099,params='0206'+'41040000fe4b'), {'decodes':'OPEN','fsm':{'code':2,'subcode':2,'note':'peer AS is configuration, checked by the FSM'}})
add('open-bgp-id-equal','RFC 4271 §6.2, RFC 6286 §2.2','BGP Identifier equal to ours on an iBGP session: decodes; the FSM sends Bad BGP Identifier', open_(params=CAPS), {'decodes':'OPEN','fsm':{'code':2,'subcode':3,'note':'identifier 198.18.0.1 equal to the local one'}})
add('open-unknown-capability','RFC 5492 §3','an unknown capability (code 200) is ignored, not an error', open_(params='0208'+'41040000fde9'+'c800'), {'decodes':'OPEN'})
add('open-missing-required-capability','RFC 5492 §3','OPEN without a capability we require (four-octet AS): decodes; the FSM may send Unsupported Capability', open_(params='0206'+'010400010001'), {'decodes':'OPEN','fsm':{'code':2,'subcode':7,'note':'data = the missing capability'}})
# ---- RFC 4271 §6.3 UPDATE, as revised by RFC 7606
add('update-withdrawn-length-overrun','RFC 7606 §3 a','Withdrawn Routes Length runs past the message: Malformed Attribute List', msg(2,'00ff0000'), err(3,1))
add('update-attribute-length-overrun','RFC 7606 §3 a','Total Path Attribute Length runs past the message: Malformed Attribute List', msg(2,'000000ff'+BASE), err(3,1))
add('update-withdrawn-prefix-33','RFC 7606 §5.3','withdrawn IPv4 prefix of length 33: Invalid Network Field, session reset', update(withdrawn='210a000001'), err(3,10))
add('update-withdrawn-prefix-truncated','RFC 7606 §5.3','withdrawn /24 with only two octets: Invalid Network Field', update(withdrawn='180a00'), err(3,10))
add('update-nlri-prefix-33','RFC 7606 §5.3','NLRI prefix of length 33: Invalid Network Field, session reset', update(attrs=BASE,nlri='210a00000100'), err(3,10))
add('update-nlri-prefix-truncated','RFC 7606 §5.3','NLRI /24 with only two octets: Invalid Network Field', update(attrs=BASE,nlri='180a00'), err(3,10))
add('update-unrecognized-well-known','RFC 4271 §6.3','attribute 99 without the Optional bit: Unrecognized Well-known Attribute, data = the attribute', update(attrs=BASE+attr(0x40,99,'01'),nlri=NLRI), err(3,2,attr(0x40,99,'01')))
add('update-duplicate-mp-reach','RFC 7606 §3 g','MP_REACH_NLRI twice: Malformed Attribute List, session reset', update(attrs=V6MP()+V6MP()+ORIGIN+ASP4), err(3,1))
add('update-duplicate-mp-unreach','RFC 7606 §3 g','MP_UNREACH_NLRI twice: Malformed Attribute List, session reset', update(attrs=attr(0x80,15,'000201')+attr(0x80,15,'000201')), err(3,1))
add('update-mp-reach-too-short','RFC 7606 §7.11','MP_REACH_NLRI of 2 octets: no AFI/SAFI to disable, session reset', update(attrs=attr(0x80,14,'0002')+ORIGIN+ASP4), err(3,9,attr(0x80,14,'0002')))
bad_nh=attr(0x80,14,'000201'+'0f'+'00'*15+'00'+'4020010db800010000')
add('update-mp-reach-next-hop-length-15','RFC 7606 §7.11','IPv6 MP_REACH_NLRI next hop of 15 octets: AFI/SAFI disable (or session reset)', update(attrs=bad_nh+ORIGIN+ASP4), err(3,9,bad_nh,'afi-safi-disable',afi=2,safi=1))
bad_v6=attr(0x80,14,'0002'+'01'+'10'+'20010db8000000000000000000000001'+'00'+'8120010db8000000000000000000000000')
add('update-mp-reach-prefix-129','RFC 7606 §5.3','IPv6 NLRI of length 129 in MP_REACH_NLRI: AFI/SAFI disable', update(attrs=bad_v6+ORIGIN+ASP4), err(3,9,bad_v6,'afi-safi-disable',afi=2,safi=1))
bad_un=attr(0x80,15,'000201'+'4020010db8')
add('update-mp-unreach-prefix-truncated','RFC 7606 §5.3','MP_UNREACH_NLRI /64 with 4 octets: AFI/SAFI disable', update(attrs=bad_un), err(3,9,bad_un,'afi-safi-disable',afi=2,safi=1))
# treat-as-withdraw and attribute discard
a=attr(0xc0,1,'00'); add('update-origin-flags','RFC 7606 §3 c, §7.1','ORIGIN with the Optional bit: Attribute Flags Error, treat-as-withdraw', update(attrs=a+ASP4+NH,nlri=NLRI), upd(True,[('treat-as-withdraw',4,a,1)]))
a=attr(0x40,4,'00000064'); add('update-med-flags','RFC 7606 §3 c','MULTI_EXIT_DISC marked well-known: treat-as-withdraw', update(attrs=BASE+a,nlri=NLRI), upd(True,[('treat-as-withdraw',4,a,4)]))
a=attr(0x80,7,u32(65001)+'c6120001'); add('update-aggregator-flags','RFC 7606 §3 c, §3 f','AGGREGATOR marked non-transitive: attribute discard', update(attrs=BASE+a,nlri=NLRI), upd(False,[('attribute-discard',4,a,7)]))
a=attr(0x40,1,'0000'); add('update-origin-length-2','RFC 7606 §7.1','ORIGIN of 2 octets: Attribute Length Error, treat-as-withdraw', update(attrs=a+ASP4+NH,nlri=NLRI), upd(True,[('treat-as-withdraw',5,a,1)]))
a=attr(0x40,1,'03'); add('update-origin-value-3','RFC 7606 §7.1','ORIGIN value 3: Invalid ORIGIN, treat-as-withdraw', update(attrs=a+ASP4+NH,nlri=NLRI), upd(True,[('treat-as-withdraw',6,a,1)]))
a=attr(0x40,2,'0501'+u32(65001)); add('update-as-path-segment-type-5','RFC 7606 §7.2','AS_PATH segment type 5: Malformed AS_PATH (no data), treat-as-withdraw', update(attrs=ORIGIN+a+NH,nlri=NLRI), upd(True,[('treat-as-withdraw',11,'',2)]))
a=attr(0x40,2,'0200'); add('update-as-path-zero-segment','RFC 7606 §7.2','AS_PATH segment with no ASNs: treat-as-withdraw', update(attrs=ORIGIN+a+NH,nlri=NLRI), upd(True,[('treat-as-withdraw',11,'',2)]))
a=attr(0x40,2,'0202'+u32(65001)); add('update-as-path-segment-overrun','RFC 7606 §7.2','AS_PATH segment of 2 ASNs with one present: treat-as-withdraw', update(attrs=ORIGIN+a+NH,nlri=NLRI), upd(True,[('treat-as-withdraw',11,'',2)]))
a=attr(0x40,2,'0201'+u32(65001)); add('update-as-path-4-octet-on-2-octet-session','RFC 7606 §7.2, RFC 6793','a 4-octet AS_PATH on a 2-octet session reads as a segment overrun: treat-as-withdraw', update(attrs=ORIGIN+a+NH,nlri=NLRI), upd(True,[('treat-as-withdraw',11,'',2)]), ctx={'as4':False})
a=attr(0x40,2,'0301'+u32(65010)+'0201'+u32(65001)); add('update-as-path-confed-from-external','RFC 7606 §7.2','AS_PATH with a confederation segment from an external peer: Malformed AS_PATH, treat-as-withdraw', update(attrs=ORIGIN+a+NH,nlri=NLRI), upd(True,[('treat-as-withdraw',11,'',2)]), ctx={'as4':True,'external':True})
add('update-as-path-confed-from-internal','RFC 5065 §5','AS_PATH with a confederation segment from an internal peer is fine', update(attrs=ORIGIN+a+NH,nlri=NLRI), upd(False,[]))
a=attr(0x40,3,'c612000100'); add('update-next-hop-length-5','RFC 7606 §7.3','NEXT_HOP of 5 octets: Attribute Length Error, treat-as-withdraw', update(attrs=ORIGIN+ASP4+a,nlri=NLRI), upd(True,[('treat-as-withdraw',5,a,3)]))
a=attr(0x80,4,'000064'); add('update-med-length-3','RFC 7606 §7.4','MULTI_EXIT_DISC of 3 octets: treat-as-withdraw', update(attrs=BASE+a,nlri=NLRI), upd(True,[('treat-as-withdraw',5,a,4)]))
a=attr(0x40,5,'000064'); add('update-local-pref-length-3-internal','RFC 7606 §7.5','LOCAL_PREF of 3 octets from an internal peer: treat-as-withdraw', update(attrs=BASE+a,nlri=NLRI), upd(True,[('treat-as-withdraw',5,a,5)]))
add('update-local-pref-external','RFC 7606 §7.5','LOCAL_PREF (even malformed) from an external peer: attribute discard', update(attrs=BASE+a,nlri=NLRI), upd(False,[('attribute-discard',1,'',5)]), ctx={'as4':True,'external':True})
a=attr(0x40,6,'00'); add('update-atomic-aggregate-length-1','RFC 7606 §7.6','ATOMIC_AGGREGATE of 1 octet: attribute discard', update(attrs=BASE+a,nlri=NLRI), upd(False,[('attribute-discard',5,a,6)]))
a=attr(0xc0,7,'00fde9c6120001'); add('update-aggregator-length-7','RFC 7606 §7.7','AGGREGATOR of 7 octets on a 4-octet session: attribute discard', update(attrs=BASE+a,nlri=NLRI), upd(False,[('attribute-discard',5,a,7)]))
a=attr(0xc0,7,u32(65001)+'c6120001'); add('update-aggregator-4-octet-on-2-octet-session','RFC 7606 §7.7','AGGREGATOR of 8 octets on a 2-octet session: attribute discard', update(attrs=ORIGIN+ASP2+NH+a,nlri=NLRI), upd(False,[('attribute-discard',5,a,7)]), ctx={'as4':False})
a=attr(0xc0,8,'fde90001ff'); add('update-communities-length-5','RFC 7606 §7.8','COMMUNITIES of 5 octets: treat-as-withdraw', update(attrs=BASE+a,nlri=NLRI), upd(True,[('treat-as-withdraw',5,a,8)]))
a=attr(0xc0,8,''); add('update-communities-empty','RFC 7606 §7.8','COMMUNITIES of 0 octets: treat-as-withdraw', update(attrs=BASE+a,nlri=NLRI), upd(True,[('treat-as-withdraw',5,a,8)]))
a=attr(0x80,9,'c612000200'); add('update-originator-id-length-5','RFC 7606 §7.9','ORIGINATOR_ID of 5 octets from an internal peer: treat-as-withdraw', update(attrs=BASE+a,nlri=NLRI), upd(True,[('treat-as-withdraw',5,a,9)]))
add('update-originator-id-external','RFC 7606 §7.9','ORIGINATOR_ID from an external peer: attribute discard', update(attrs=BASE+attr(0x80,9,'c6120002'),nlri=NLRI), upd(False,[('attribute-discard',1,'',9)]), ctx={'as4':True,'external':True})
a=attr(0x80,10,'c61200020000'); add('update-cluster-list-length-6','RFC 7606 §7.10','CLUSTER_LIST of 6 octets from an internal peer: treat-as-withdraw', update(attrs=BASE+a,nlri=NLRI), upd(True,[('treat-as-withdraw',5,a,10)]))
add('update-cluster-list-external','RFC 7606 §7.10','CLUSTER_LIST from an external peer: attribute discard', update(attrs=BASE+attr(0x80,10,'c6120002'),nlri=NLRI), upd(False,[('attribute-discard',1,'',10)]), ctx={'as4':True,'external':True})
a=attr(0xc0,16,'00020000fde900'); add('update-extended-communities-length-7','RFC 7606 §7.14','EXTENDED_COMMUNITIES of 7 octets: treat-as-withdraw', update(attrs=BASE+a,nlri=NLRI), upd(True,[('treat-as-withdraw',5,a,16)]))
a=attr(0xc0,32,'0000fde9'+'00000001'+'00000002'+'00'); add('update-large-community-length-13','RFC 8092 §5','LARGE_COMMUNITY of 13 octets: treat-as-withdraw', update(attrs=BASE+a,nlri=NLRI), upd(True,[('treat-as-withdraw',5,a,32)]))
a=attr(0xc0,17,'0200'); add('update-as4-path-malformed','RFC 6793 §6, RFC 7606','AS4_PATH with an empty segment on a 2-octet session: attribute discard', update(attrs=ORIGIN+ASP2+NH+a,nlri=NLRI), upd(False,[('attribute-discard',11,'',17)]), ctx={'as4':False})
a=attr(0xc0,17,'0201'+u32(4200000001)); add('update-as4-path-from-4-octet-speaker','RFC 6793 §4.2.3','AS4_PATH on a 4-octet session: attribute discard', update(attrs=BASE+a,nlri=NLRI), upd(False,[('attribute-discard',9,a,17)]))
a=attr(0xc0,18,u32(4200000001)+'c61200'); add('update-as4-aggregator-length-7','RFC 6793 §6, RFC 7606','AS4_AGGREGATOR of 7 octets on a 2-octet session: attribute discard', update(attrs=ORIGIN+ASP2+NH+a,nlri=NLRI), upd(False,[('attribute-discard',5,a,18)]), ctx={'as4':False})
add('update-missing-origin','RFC 7606 §3 d','IPv4 NLRI without ORIGIN: Missing Well-known Attribute (data 1), treat-as-withdraw', update(attrs=ASP4+NH,nlri=NLRI), upd(True,[('treat-as-withdraw',3,'01',1)]))
add('update-missing-as-path','RFC 7606 §3 d','IPv4 NLRI without AS_PATH: treat-as-withdraw (data 2)', update(attrs=ORIGIN+NH,nlri=NLRI), upd(True,[('treat-as-withdraw',3,'02',2)]))
add('update-missing-next-hop','RFC 7606 §3 d','IPv4 NLRI without NEXT_HOP: treat-as-withdraw (data 3)', update(attrs=ORIGIN+ASP4,nlri=NLRI), upd(True,[('treat-as-withdraw',3,'03',3)]))
add('update-missing-origin-mp-reach','RFC 7606 §3 d, RFC 4760 §3','MP_REACH_NLRI without ORIGIN: treat-as-withdraw; NEXT_HOP not needed', update(attrs=V6MP()+ASP4), upd(True,[('treat-as-withdraw',3,'01',1)]))
add('update-mp-reach-without-next-hop','RFC 4760 §3','MP_REACH_NLRI with ORIGIN and AS_PATH but no NEXT_HOP: fine', update(attrs=V6MP()+ORIGIN+ASP4), upd(False,[]))
add('update-withdraw-only-no-attributes','RFC 4271 §4.3','withdrawals alone need no attributes', update(withdrawn=NLRI), upd(False,[]))
add('update-duplicate-med','RFC 7606 §3 g','MULTI_EXIT_DISC twice: the first is kept, the rest discarded', update(attrs=BASE+attr(0x80,4,'0000000a')+attr(0x80,4,'00000014'),nlri=NLRI), upd(False,[('attribute-discard',1,'',4)]))
add('update-attribute-header-cut','RFC 7606 §4','two octets left, too few for an attribute header: treat-as-withdraw', update(attrs=BASE+'4001',nlri=NLRI), upd(True,[('treat-as-withdraw',1,'')]))
add('update-attribute-extended-header-cut','RFC 7606 §4','three octets left with Extended Length set: treat-as-withdraw', update(attrs=BASE+'500800',nlri=NLRI), upd(True,[('treat-as-withdraw',1,'')]))
add('update-attribute-length-overrun','RFC 7606 §4','last attribute length runs past Total Path Attribute Length: treat-as-withdraw', update(attrs=BASE+'c0080800000001',nlri=NLRI), upd(True,[('treat-as-withdraw',1,'',8)]))
a=attr(0xc0,14,'0002'+'01'+'10'+'20010db8000000000000000000000001'+'00'+'4020010db800010000')
add('update-mp-reach-flags','RFC 7606 §3 c','MP_REACH_NLRI marked transitive: treat-as-withdraw, its IPv6 routes withdrawn', update(attrs=a+ORIGIN+ASP4), upd(True,[('treat-as-withdraw',4,a,14)],withdrawnRoutes=['2001:db8:1::/64']))
add('update-unknown-optional-transitive','RFC 4271 §5','unknown optional transitive attribute 200 is kept for passing on', update(attrs=BASE+attr(0xc0,200,'abcd'),nlri=NLRI), upd(False,[]))
add('update-unknown-optional-non-transitive','RFC 4271 §5','unknown optional non-transitive attribute 201 is accepted (and not passed on)', update(attrs=BASE+attr(0x80,201,'abcd'),nlri=NLRI), upd(False,[]))
# ---- ROUTE-REFRESH (RFC 7313)
m=msg(5,'00010101'+'00'); add('route-refresh-borr-length','RFC 7313 §5','BoRR with a 5-octet body: ROUTE-REFRESH Message Error / Invalid Message Length, data = the message', m, {'error':{'code':7,'subcode':1,'data':m,'disposition':'session-reset'}})
m=msg(5,'00010201'+'0000'); add('route-refresh-eorr-length','RFC 7313 §5','EoRR with a 6-octet body: Invalid Message Length', m, {'error':{'code':7,'subcode':1,'data':m,'disposition':'session-reset'}})
add('route-refresh-unknown-subtype','RFC 7313 §5','subtype 7 decodes; the session ignores it', msg(5,'00010701'), {'decodes':'ROUTE-REFRESH'})
# ---- NOTIFICATION data robustness
add('notification-shutdown-bad-utf8','RFC 9003 §2','Administrative Shutdown whose text is not UTF-8: decodes, text left out', msg(3,'0602'+'02c328'), {'decodes':'NOTIFICATION'})
add('notification-shutdown-length-mismatch','RFC 9003 §2','Administrative Shutdown whose length octet overruns the data: decodes, text left out', msg(3,'0602'+'0a6869'), {'decodes':'NOTIFICATION'})
# ---- FSM-level errors (decode fine; listed so the FSM tests cover them)
add('fsm-update-in-opensent','RFC 4271 §6.6','UPDATE received in OpenSent: decodes; the FSM sends Finite State Machine Error / 1', update(withdrawn=NLRI), {'decodes':'UPDATE','fsm':{'code':5,'subcode':1,'note':'RFC 6608 subcodes'}})
add('fsm-keepalive-in-opensent','RFC 4271 §6.6','KEEPALIVE received in OpenSent: decodes; the FSM sends Finite State Machine Error / 1', msg(4,''), {'decodes':'KEEPALIVE','fsm':{'code':5,'subcode':1,'note':'RFC 6608 subcodes'}})
out={'description':'Malformed BGP messages, one per error case of RFC 4271 §6 and RFC 7606 (plus RFC 6793, 7313, 8654, 9003 edge cases), each a complete message with the NOTIFICATION or RFC 7606 disposition a receiver must produce. via=framer: only the header is valid to read, feed it to a stream framer. decodes+fsm: the codec accepts it; the FSM owes the NOTIFICATION named. Hex written by a generator from named fields; see each case\'s \"what\".','cases':cases}
json.dump(out, open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'malformed.json'), 'w'), indent=1)
print(len(cases))
